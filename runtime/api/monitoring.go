package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/monitor"
	"github.com/ferry-ml/ferry/store"
)

type topInput struct {
	Tenant string `query:"tenant" maxLength:"57" doc:"only this tenant's objects (default: every tenant the caller is a member of; all for admins)"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"200"`
}

type topOutput struct{ Body v1.Top }

type workloadUsageInput struct {
	Tenant string          `path:"tenant" maxLength:"57"`
	Kind   v1.WorkloadKind `path:"kind" enum:"job,notebook,step,revision"`
	Name   string          `path:"name" maxLength:"160"`
	Window string          `query:"window" maxLength:"16" doc:"also return the series of the last window (e.g. 1h, 1d, 7d): raw samples up to 1h, minute buckets up to 1d, quarter-hour buckets beyond"`
}

type workloadUsageOutput struct{ Body v1.WorkloadUsage }

type tenantQuotaOutput struct{ Body v1.QuotaUse }

type readsInput struct {
	Tenant string        `path:"tenant" maxLength:"57"`
	Actor  string        `query:"actor" maxLength:"64" doc:"only reads by this user"`
	Kind   v1.AccessKind `query:"kind" enum:"artifact,model,log" doc:"only reads of this kind"`
	Limit  int           `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor     `query:"after" maxLength:"32" doc:"keyset cursor: the next value of the previous page"`
}

type readsOutput struct{ Body v1.List[v1.Access] }

// maxWindow is the longest series asked for: the usage retention's default.
const maxWindow = 7 * 24 * time.Hour

func (s *Server) monitoringRoutes() {
	tags := []string{"monitoring"}
	register(s, huma.Operation{OperationID: "top", Method: http.MethodGet, Path: v1.PathUsage, Tags: tags,
		Summary: "Live use of every ferry object the caller may see, heaviest CPU first (ferry top)"},
		func(ctx context.Context, in *topInput) (*topOutput, error) {
			out := &topOutput{Body: v1.Top{Items: []v1.WorkloadUsage{}}}
			err := s.read(ctx, func(tx *store.Tx) error {
				var names []string
				switch {
				case in.Tenant != "":
					if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleViewer); err != nil {
						return err
					}
					names = []string{in.Tenant}
				case !caller(ctx).Admin:
					ms, err := tx.Memberships(ctx, caller(ctx).ID)
					if err != nil {
						return err
					}
					if len(ms) == 0 {
						return nil
					}
					for _, m := range ms {
						names = append(names, m.Tenant)
					}
				}
				at, interval, err := tx.UsageTick(ctx)
				if err != nil || at.IsZero() {
					return err
				}
				out.Body.SampledAt, out.Body.IntervalSeconds, out.Body.Stale = &at, int64(interval/time.Second), stale(s.db.Now(), at, interval)
				live, err := tx.LiveUsage(ctx, at, names, in.Limit)
				for _, l := range live {
					u := toWorkloadUsage(l.Workload)
					cur := toUse(l.Current.Mean)
					u.Current = &cur
					out.Body.Items = append(out.Body.Items, u)
				}
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getWorkloadUsage", Method: http.MethodGet, Path: v1.PathWorkloadUsage, Tags: tags,
		Summary: "One ferry object's current, average and peak use against its request, with its series when asked"},
		func(ctx context.Context, in *workloadUsageInput) (*workloadUsageOutput, error) {
			var window time.Duration
			if in.Window != "" {
				d, err := parseWindow(in.Window)
				if err != nil {
					return nil, fieldError("query.window", in.Window, err)
				}
				window = d
			}
			out := &workloadUsageOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				w, err := tx.UsageWorkload(ctx, store.WorkloadKey{Tenant: in.Tenant, Kind: store.WorkloadKind(in.Kind), Name: in.Name})
				if errors.Is(err, store.ErrNotFound) {
					return huma.Error404NotFound(fmt.Sprintf("no use of %s %s in tenant %s was sampled (yet, or within the retention)", in.Kind, in.Name, in.Tenant))
				}
				if err != nil {
					return err
				}
				st, err := tx.UsageStats(ctx, w.ID)
				if err != nil {
					return err
				}
				at, _, err := tx.UsageTick(ctx)
				if err != nil {
					return err
				}
				u := toWorkloadUsage(w)
				if st.Latest != nil && w.LastSeen.Equal(at) {
					cur := toUse(st.Latest.Mean)
					u.Current = &cur
				} else {
					u.Pods = 0
				}
				if st.Overall.N > 0 {
					avg, peak := toUse(st.Overall.Mean), toUse(st.Overall.Peak)
					u.Average, u.Peak, u.Samples = &avg, &peak, st.Overall.N
				}
				if window > 0 {
					tier := store.TierQuarter
					switch {
					case window <= time.Hour:
						tier = store.TierRaw
					case window <= 24*time.Hour:
						tier = store.TierMinute
					}
					ps, err := tx.UsageSeries(ctx, w.ID, tier, s.db.Now().Add(-window))
					if err != nil {
						return err
					}
					u.Series = make([]v1.UsagePoint, 0, len(ps))
					for _, p := range ps {
						u.Series = append(u.Series, v1.UsagePoint{Time: p.Time, Samples: p.N, Mean: toUse(p.Mean), Peak: toUse(p.Peak)})
					}
				}
				out.Body = u
				return nil
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getTenantQuota", Method: http.MethodGet, Path: v1.PathTenantQuota, Tags: tags,
		Summary: "A tenant's quota against what its pods request and use, and what is queued"},
		func(ctx context.Context, in *tenantNameInput) (*tenantQuotaOutput, error) {
			out := &tenantQuotaOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				t, err := tx.Tenant(ctx, in.Tenant)
				if err != nil {
					return err
				}
				at, interval, err := tx.UsageTick(ctx)
				if err != nil {
					return err
				}
				var req, use store.UsageAmount
				if !at.IsZero() {
					if req, use, err = tx.TenantRequested(ctx, in.Tenant, at); err != nil {
						return err
					}
					out.Body.SampledAt, out.Body.Stale = &at, stale(s.db.Now(), at, interval)
				}
				queued, err := tx.QueuedJobs(ctx, in.Tenant)
				if err != nil {
					return err
				}
				q, err := monitor.QuotaUse(t.Quota, req, queued)
				if err != nil {
					return err
				}
				out.Body.Tenant, out.Body.Quota = t.Name, toTenant(t).Quota
				out.Body.Limit, out.Body.Requested, out.Body.Free = toAmount(q.Limit), toAmount(q.Requested), toAmount(q.Free)
				out.Body.Used = toUse(use)
				out.Body.Queued = v1.QueuedWork{Jobs: q.QueuedJobs, Replicas: q.QueuedReplicas, Request: toAmount(q.Queued)}
				return nil
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "listTenantReads", Method: http.MethodGet, Path: v1.PathTenantReads, Tags: tags,
		Summary: "Who read the tenant's artifacts, models and logs, newest first (owner or admin)"},
		func(ctx context.Context, in *readsInput) (*readsOutput, error) {
			out := &readsOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleOwner, func(tx *store.Tx) error {
				after, err := idCursor(in.After)
				if err != nil {
					return err
				}
				items, err := tx.ListAccess(ctx, store.AccessFilter{Tenant: in.Tenant, Actor: in.Actor, Kind: store.AccessKind(in.Kind), After: after, Limit: in.Limit})
				out.Body = page(items, in.Limit, toAccess, func(a store.Access) string { return strconv.FormatInt(a.ID, 10) })
				return err
			})
			return out, err
		})
}

// recordRead notes that the caller (or who) read a tenant's object, after
// authorization and before the bytes go out; a read that cannot be
// recorded is refused, so that the log misses none.
func (s *Server) recordRead(ctx context.Context, tenant string, kind store.AccessKind, who, object string) error {
	if who == "" {
		who = caller(ctx).Name
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.RecordAccess(ctx, store.Access{Tenant: tenant, Actor: who, Kind: kind, Object: object})
	})
	if err != nil {
		s.log.Error("cannot record a read", "tenant", tenant, "kind", kind, "err", err)
		return huma.Error503ServiceUnavailable("the read cannot be recorded now; try again")
	}
	return nil
}

// stale says whether the sampler's last pass is older than three intervals.
func stale(now, at time.Time, interval time.Duration) bool {
	return now.Sub(at) > 3*max(interval, time.Second)
}

// parseWindow reads 90s, 30m, 6h, 1d or 7d; at most maxWindow.
func parseWindow(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := trimSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q is not a window such as 1h or 1d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a window such as 1h or 1d", s)
		}
	}
	if d < time.Minute || d > maxWindow {
		return 0, fmt.Errorf("a window is between 1m and %s", maxWindow)
	}
	return d, nil
}

func trimSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

func toWorkloadUsage(w store.UsageWorkload) v1.WorkloadUsage {
	return v1.WorkloadUsage{Tenant: w.Key.Tenant, Kind: v1.WorkloadKind(w.Key.Kind), Name: w.Key.Name, Pods: w.Pods,
		Request: toAmount(w.Request), FirstSeen: w.FirstSeen, LastSeen: w.LastSeen}
}

func toAmount(a store.UsageAmount) v1.ResourceAmount {
	return v1.ResourceAmount{CPUMillicores: a.CPU, MemoryBytes: a.Memory, GPU: a.GPU}
}

// toUse maps a sample (nanocores) onto the contract (millicores, rounded
// up as kubectl top does: any use shows as at least 1m).
func toUse(a store.UsageAmount) v1.ResourceUse {
	return v1.ResourceUse{CPUMillicores: (a.CPU + 999_999) / 1e6, MemoryBytes: a.Memory, GPUPercent: a.GPU}
}

func toAccess(a store.Access) v1.Access {
	return v1.Access{ID: a.ID, Time: a.Time, Tenant: a.Tenant, Actor: a.Actor, Kind: v1.AccessKind(a.Kind), Object: a.Object}
}
