package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/controller"
	podreason "github.com/ferry-ml/ferry/runtime/monitor/reason"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Controller keeps deployments and the cluster in step, every second and
// whenever poked (a change through the API, a gateway holding a request).
type Controller struct {
	DB     *store.DB
	Client kubernetes.Interface
	Pods   PodConfig
	Stats  *Stats
	// Blobs is the artifact bucket model files are read from.
	Blobs *blob.Bucket
	Log   *slog.Logger
	// Events are the Warning events about a pod, which explain why a
	// revision is not ready (nil: pod states alone).
	Events podreason.Events
	// Now is the clock (default time.Now).
	Now     func() time.Time
	loop    *controller.Loop
	reasons reasons
	// keyed are the deployments ("namespace/name" to "id@created") whose
	// key Secret this process applied (Sync runs on one goroutine).
	keyed map[string]string
	// starting says a pass saw a revision scaled up from zero, with
	// requests held for it and no replica ready yet: the next pass comes
	// after StartingPoll instead of the resync, so its first ready
	// replica reaches the routing table within StartingPoll.
	starting bool
	// after runs f after d (default time.AfterFunc; tests record it).
	after func(d time.Duration, f func())
	// Informers is the shared informer factory of all pods (nil: the
	// controller makes its own); Endpoints reads ready pods from it.
	Informers informers.SharedInformerFactory
	podLister atomic.Value // podLister, once Start reads pods
	// routes are the revisions the last pass applied (see Endpoints).
	routes routable
	// boosts resize starting pods (boost.go; nil: no boost).
	boosts *boosts
}

// StartingPoll is how often a pass looks again while requests wait for a
// revision to start (scale from zero), instead of every second.
const StartingPoll = 200 * time.Millisecond

// NewController makes a controller; Start runs it.
func NewController(db *store.DB, client kubernetes.Interface, pods PodConfig, log *slog.Logger) *Controller {
	c := &Controller{DB: db, Client: client, Pods: pods, Stats: &Stats{}, Log: log, Now: time.Now, keyed: map[string]string{}, boosts: newBoosts(),
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
	c.loop = &controller.Loop{Name: "serving", Log: log, Sync: c.Sync, Options: controller.Options{Resync: time.Second, Settle: 50 * time.Millisecond}}
	return c
}

// Poke asks for a pass soon.
func (c *Controller) Poke() { c.loop.Poke() }

// Start reads pods (for Endpoints) and syncs until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	f := c.Informers
	if f == nil {
		f = informers.NewSharedInformerFactory(c.Client, 10*time.Minute)
		defer f.Shutdown()
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.watchPods(ctx, f)) {
		return ctx.Err()
	}
	if c.boosts != nil {
		go c.runBoosts(ctx)
	}
	return c.loop.Start(ctx)
}

// Spec decodes a stored deployment's spec.
func Spec(d store.Deployment) (v1.DeploymentSpec, error) {
	var s v1.DeploymentSpec
	err := json.Unmarshal(d.Spec, &s)
	return s, err
}

// Sync is one pass over every deployment: rollout decisions, then replicas
// and objects of each live revision, then removal of retired revisions'
// objects and of deleted deployments' leftovers.
func (c *Controller) Sync(ctx context.Context) error {
	var ds []store.Deployment
	if err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { ds, err = tx.AllDeployments(ctx); return err }); err != nil {
		return err
	}
	var errs []error
	live := map[string]bool{}
	why, kept := map[revisionKey]string{}, map[[2]string]bool{}
	applied := map[revisionKey]routeTarget{}
	owned := c.namespaces(ctx)
	for _, d := range ds {
		live[d.Tenant+"/"+d.Name] = true
		if err := c.syncDeployment(ctx, d, why, applied, owned); err != nil {
			kept[[2]string{d.Tenant, d.Name}] = true
			errs = append(errs, fmt.Errorf("deployment %s/%s: %w", d.Tenant, d.Name, err))
		}
	}
	c.reasons.replace(why, kept)
	c.routes.replace(applied, kept)
	c.queueBoosts()
	errs = append(errs, c.collect(ctx, live, owned))
	if c.starting {
		c.starting = false
		c.after(StartingPoll, c.Poke)
	}
	return errors.Join(errs...)
}

// namespaces answers, once per tenant and pass, whether ferry may write
// into a tenant's namespace (tenants.CheckNamespace): nil, or why not. A
// tenant that is gone has no namespace ferry may write into.
func (c *Controller) namespaces(ctx context.Context) func(tenant string) error {
	seen := map[string]error{}
	return func(tenant string) error {
		if err, ok := seen[tenant]; ok {
			return err
		}
		var t store.Tenant
		err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { t, err = tx.Tenant(ctx, tenant); return err })
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = &tenants.ConflictError{Tenant: tenant, Namespace: tenants.Namespace(tenant), Reason: "has no tenant"}
		case err == nil:
			err = tenants.CheckNamespace(ctx, c.Client, t)
		}
		seen[tenant] = err
		return err
	}
}

// foreign says whether err, from tenants.CheckNamespace, means that the
// namespace is not ferry's for the tenant (or not there): nothing is
// written or deleted in it.
func foreign(err error) bool {
	return errors.Is(err, tenants.ErrNamespaceConflict) || errors.Is(err, tenants.ErrNamespaceMissing)
}

// syncDeployment also records in why what keeps each live revision from
// being ready, and in applied each live revision whose objects it applied.
// Nothing is written or deleted in a namespace that is not ferry's for the
// deployment's tenant (owned says): each live revision's reason says why.
func (c *Controller) syncDeployment(ctx context.Context, d store.Deployment, why map[revisionKey]string, applied map[revisionKey]routeTarget, owned func(string) error) error {
	spec, err := Spec(d)
	if err != nil {
		return err
	}
	now := c.Now()
	var moved bool
	if err := c.DB.Write(ctx, func(tx *store.Tx) (err error) { moved, err = followAlias(ctx, tx, d, spec.Model); return err }); err != nil {
		return err
	}
	if moved {
		c.Log.Info("alias moved: canary started", "tenant", d.Tenant, "deployment", d.Name, "model", spec.Model)
		if err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { d, err = tx.DeploymentByID(ctx, d.ID); return err }); err != nil {
			return err
		}
	}
	if changed, err := c.rollout(ctx, d, spec, now); err != nil {
		return err
	} else if changed {
		if err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { d, err = tx.DeploymentByID(ctx, d.ID); return err }); err != nil {
			return err
		}
	}
	if err := owned(d.Tenant); err != nil {
		if !foreign(err) {
			return err
		}
		for _, r := range d.Revisions {
			if r.Role != store.RevisionRetired {
				why[revisionKey{d.Tenant, d.Name, RevisionName(d, r)}] = tenants.NamespaceReason(err)
			}
		}
		return nil
	}
	if err := c.ensureKey(ctx, d); err != nil {
		return err
	}
	ns := tenants.Namespace(d.Tenant)
	for _, r := range d.Revisions {
		name := RevisionName(d, r)
		if r.Role == store.RevisionRetired {
			err := c.Client.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{})
			if err == nil || apierrors.IsNotFound(err) {
				err = c.Client.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{})
			}
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			continue
		}
		load := c.Stats.Load(d.Tenant, d.Name, name, now)
		if r.Weight == 0 {
			load.LastRequest = time.Time{}
		}
		want := Autoscale(Scale{Min: spec.Min, Max: spec.Max, Concurrency: spec.Concurrency, Idle: time.Duration(spec.IdleSeconds) * time.Second}, r.Replicas, load, now)
		if r.Weight == 0 && r.Role == store.RevisionCanary {
			want = 0
		}
		dep, svc, err := Objects(c.Pods, d, spec, r, want)
		if err != nil {
			return err
		}
		if _, err := controller.Apply(ctx, c.Client.CoreV1().Services(ns), svc); err != nil {
			return err
		}
		got, err := controller.Apply(ctx, c.Client.AppsV1().Deployments(ns), dep)
		if err != nil {
			return err
		}
		applied[revisionKey{d.Tenant, d.Name, name}] = target(d, r, spec)
		if want > 0 && got.Status.ReadyReplicas == 0 && load.Waiting > 0 {
			c.starting = true
		}
		if reason, err := c.explain(ctx, ns, name, want, got); err != nil {
			c.Log.Warn("revision reason", "revision", name, "err", err)
		} else if reason != "" {
			why[revisionKey{d.Tenant, d.Name, name}] = reason
		}
		if want != r.Replicas || got.Status.ReadyReplicas != r.Ready {
			if err := c.DB.Write(ctx, func(tx *store.Tx) error {
				if want != r.Replicas && (want == 0 || r.Replicas == 0) {
					if err := tx.AddDeploymentEvent(ctx, d.ID, "scaled", fmt.Sprintf("%s scaled from %d to %d", name, r.Replicas, want)); err != nil {
						return err
					}
				}
				return tx.SetRevisionReplicas(ctx, d.ID, r.Number, want, got.Status.ReadyReplicas)
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// rollout judges the canary, if any, and records the decision unless it holds.
func (c *Controller) rollout(ctx context.Context, d store.Deployment, spec v1.DeploymentSpec, now time.Time) (bool, error) {
	var stable, canary *store.Revision
	for i := range d.Revisions {
		switch d.Revisions[i].Role {
		case store.RevisionStable:
			stable = &d.Revisions[i]
		case store.RevisionCanary:
			canary = &d.Revisions[i]
		}
	}
	if stable == nil || canary == nil || canary.Weight == 0 {
		return false, nil
	}
	sw, _ := c.Stats.Since(d.Tenant, d.Name, RevisionName(d, *stable), canary.StageSince, now)
	cw, _ := c.Stats.Since(d.Tenant, d.Name, RevisionName(d, *canary), canary.StageSince, now)
	dec := Decide(WithDefaults(spec.Rollout), canary.Weight, canary.StageSince, now, sw, cw)
	if dec.Action == Hold {
		return false, nil
	}
	c.Log.Info("rollout decision", "tenant", d.Tenant, "deployment", d.Name, "action", dec.Action, "reason", dec.Reason)
	return true, c.DB.Write(ctx, func(tx *store.Tx) error {
		return ApplyDecision(ctx, tx, d, *stable, *canary, dec, "system")
	})
}

// ApplyDecision writes a rollout decision (also a manual promote or
// rollback): weights, roles, an event and an audit row, in tx.
func ApplyDecision(ctx context.Context, tx *store.Tx, d store.Deployment, stable, canary store.Revision, dec Decision, actor string) error {
	var err error
	switch dec.Action {
	case Advance:
		if err = tx.SetRevisionTraffic(ctx, d.ID, canary.Number, store.RevisionCanary, dec.Weight); err == nil {
			err = tx.SetRevisionTraffic(ctx, d.ID, stable.Number, store.RevisionStable, 100-dec.Weight)
		}
	case Promote:
		if err = tx.SetRevisionTraffic(ctx, d.ID, canary.Number, store.RevisionStable, 100); err == nil {
			err = tx.SetRevisionTraffic(ctx, d.ID, stable.Number, store.RevisionRetired, 0)
		}
	case Rollback:
		if err = tx.SetRevisionTraffic(ctx, d.ID, canary.Number, store.RevisionRetired, 0); err == nil {
			err = tx.SetRevisionTraffic(ctx, d.ID, stable.Number, store.RevisionStable, 100)
		}
	default:
		return fmt.Errorf("unknown rollout action %q", dec.Action)
	}
	if err != nil {
		return err
	}
	kind := map[string]string{Advance: "advanced", Promote: "promoted", Rollback: "rolledBack"}[dec.Action]
	msg := fmt.Sprintf("%s: %s", RevisionName(d, canary), dec.Reason)
	if err := tx.AddDeploymentEvent(ctx, d.ID, kind, msg); err != nil {
		return err
	}
	_, err = tx.AppendAudit(ctx, store.AuditEntry{Actor: actor, Action: "serving." + kind, Tenant: d.Tenant, Target: "deployment/" + d.Name, Result: "ok"})
	return err
}

// ensureKey gives a deployment's pods their runtime key, once per process.
// The control plane may write Secrets but not read them: it mints a key and
// applies the Secret (overwriting one left by a deleted deployment of the
// same name, or by this server before a restart), then drops all but the
// newest few runtime keys, so pods that started with the previous value
// can still fetch their model.
func (c *Controller) ensureKey(ctx context.Context, d store.Deployment) error {
	ns := tenants.Namespace(d.Tenant)
	// A deployment deleted and made again may get the same id back (SQLite
	// reuses a freed rowid); its creation time tells the two apart.
	made := fmt.Sprintf("%d@%d", d.ID, d.CreatedAt.UnixNano())
	if c.keyed[ns+"/"+d.Name] == made {
		return nil
	}
	var key store.DeploymentKey
	var secret string
	if err := c.DB.Write(ctx, func(tx *store.Tx) (err error) {
		if _, err = tx.PruneDeploymentKeys(ctx, d.ID, RuntimeKeyName, keptRuntimeKeys-1); err != nil {
			return err
		}
		key, secret, err = tx.CreateDeploymentKey(ctx, d.ID, RuntimeKeyName, "system", v1.APIKeyPrefix)
		return err
	}); err != nil {
		return err
	}
	if _, err := controller.Apply(ctx, c.Client.CoreV1().Secrets(ns), KeySecret(d, secret)); err != nil {
		if derr := c.DB.Write(ctx, func(tx *store.Tx) error { return tx.DeleteDeploymentKey(ctx, d.ID, key.ID) }); derr != nil {
			return errors.Join(err, derr)
		}
		return err
	}
	c.keyed[ns+"/"+d.Name] = made
	return nil
}

// keptRuntimeKeys is how many runtime keys a deployment keeps: the newest
// (in its Secret) and the ones before it, for pods started with them.
const keptRuntimeKeys = 3

// RuntimeKeyName names the key a deployment's own pods hold.
const RuntimeKeyName = "ferry-runtime"

// collect deletes the objects of deployments that are gone. The control
// plane may not read or list Secrets (the chart grants writes only), so
// the gone deployments are found by their Deployments and Services, and
// each one's key Secret goes first, then its Services, its Deployments
// last: a pass cut off halfway leaves something that the next pass lists.
// Namespaces that are not ferry's for their tenant (owned says) are skipped.
func (c *Controller) collect(ctx context.Context, live map[string]bool, owned func(string) error) error {
	sel := metav1.ListOptions{LabelSelector: DeploymentLabel}
	type gone struct{ ns, name string }
	var dead []gone
	seen := map[gone]bool{}
	mark := func(m metav1.ObjectMeta) {
		tenant, ok := strings.CutPrefix(m.Namespace, v1.TenantNamespacePrefix)
		g := gone{m.Namespace, m.Labels[DeploymentLabel]}
		if ok && m.Labels[tenants.ManagedByLabel] == tenants.ManagedBy && !live[tenant+"/"+g.name] && !seen[g] {
			seen[g] = true
			dead = append(dead, g)
		}
	}
	deps, err := c.Client.AppsV1().Deployments("").List(ctx, sel)
	if err != nil {
		return err
	}
	for _, o := range deps.Items {
		mark(o.ObjectMeta)
	}
	svcs, err := c.Client.CoreV1().Services("").List(ctx, sel)
	if err != nil {
		return err
	}
	for _, o := range svcs.Items {
		mark(o.ObjectMeta)
	}
	// A deployment deleted before any of its objects were made has only
	// its Secret: this process knows it from applying it.
	for k := range c.keyed {
		ns, name, _ := strings.Cut(k, "/")
		tenant, _ := strings.CutPrefix(ns, v1.TenantNamespacePrefix)
		if g := (gone{ns, name}); !live[tenant+"/"+name] && !seen[g] {
			seen[g] = true
			dead = append(dead, g)
		}
	}
	var errs []error
	for _, g := range dead {
		tenant, _ := strings.CutPrefix(g.ns, v1.TenantNamespacePrefix)
		if err := owned(tenant); err != nil {
			if !foreign(err) {
				errs = append(errs, fmt.Errorf("remove deployment %s/%s: %w", g.ns, g.name, err))
			}
			continue
		}
		if err := c.remove(ctx, g.ns, g.name, svcs.Items, deps.Items); err != nil {
			errs = append(errs, fmt.Errorf("remove deployment %s/%s: %w", g.ns, g.name, err))
		}
	}
	return errors.Join(errs...)
}

// remove deletes one gone deployment's key Secret, Services and
// Deployments, in that order, stopping at the first failure.
func (c *Controller) remove(ctx context.Context, ns, name string, svcs []corev1.Service, deps []appsv1.Deployment) error {
	ok := func(err error) bool { return err == nil || apierrors.IsNotFound(err) }
	if err := c.Client.CoreV1().Secrets(ns).Delete(ctx, KeySecretName(store.Deployment{Name: name}), metav1.DeleteOptions{}); !ok(err) {
		return err
	}
	delete(c.keyed, ns+"/"+name)
	for _, o := range svcs {
		if o.Namespace == ns && o.Labels[DeploymentLabel] == name {
			if err := c.Client.CoreV1().Services(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); !ok(err) {
				return err
			}
		}
	}
	for _, o := range deps {
		if o.Namespace == ns && o.Labels[DeploymentLabel] == name {
			if err := c.Client.AppsV1().Deployments(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); !ok(err) {
				return err
			}
		}
	}
	return nil
}
