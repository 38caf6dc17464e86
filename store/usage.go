package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WorkloadKind is the kind of ferry object a workload's pods belong to.
type WorkloadKind string

// Workload kinds.
const (
	WorkloadJob      WorkloadKind = "job"
	WorkloadNotebook WorkloadKind = "notebook"
	WorkloadStep     WorkloadKind = "step"
	WorkloadRevision WorkloadKind = "revision"
)

// Valid says whether k is one of the workload kinds.
func (k WorkloadKind) Valid() bool {
	switch k {
	case WorkloadJob, WorkloadNotebook, WorkloadStep, WorkloadRevision:
		return true
	}
	return false
}

// MaxWorkloadName bounds a workload's name (a pipeline step's is
// "<run>.<step>").
const MaxWorkloadName = 160

// Usage tiers: raw samples, one-minute and fifteen-minute buckets.
const (
	TierRaw     = 0
	TierMinute  = 1
	TierQuarter = 2
)

// TierStep is each tier's bucket width in seconds (raw: one second).
var TierStep = [3]int64{1, 60, 900}

// WorkloadKey names one ferry object.
type WorkloadKey struct {
	Tenant string
	Kind   WorkloadKind
	Name   string
}

func (k WorkloadKey) String() string { return k.Tenant + "/" + string(k.Kind) + "/" + k.Name }

// UsageAmount is a resource amount: CPU in millicores (requests) or
// nanocores (samples), memory in bytes, GPUs as a count (requests) or the
// accelerators' summed duty cycle in percent (samples).
type UsageAmount struct {
	CPU    int64
	Memory int64
	GPU    int64
}

// UsageSample is one pass's measurement of one workload: the sum over its
// pods that have not ended.
type UsageSample struct {
	Key     WorkloadKey
	Pods    int64
	Request UsageAmount // millicores, bytes, GPUs
	Use     UsageAmount // nanocores, bytes, duty-cycle percent
}

// UsageWorkload is a workload's row.
type UsageWorkload struct {
	ID        int64
	Key       WorkloadKey
	Pods      int64
	Request   UsageAmount
	FirstSeen time.Time
	LastSeen  time.Time
}

// UsagePoint is a raw sample or a bucket: means and peaks over N samples.
type UsagePoint struct {
	Time time.Time
	N    int64
	Mean UsageAmount
	Peak UsageAmount
}

// UsageRetention is how long each tier is kept.
type UsageRetention struct {
	Raw     time.Duration // default 1h
	Minute  time.Duration // default 24h
	Quarter time.Duration // default: the retention, 7 days
}

// Validate fills defaults and rejects a retention that cannot work.
func (r *UsageRetention) Validate() error {
	if r.Raw <= 0 {
		r.Raw = time.Hour
	}
	if r.Minute <= 0 {
		r.Minute = 24 * time.Hour
	}
	if r.Quarter <= 0 {
		r.Quarter = 7 * 24 * time.Hour
	}
	if r.Minute < r.Raw || r.Quarter < r.Minute {
		return fmt.Errorf("store: usage retention must grow with the tiers (raw %s, minute %s, quarter %s)", r.Raw, r.Minute, r.Quarter)
	}
	return nil
}

// RecordUsage writes one sampler pass at time at: every sample's workload
// row (created or refreshed), its raw point and its minute and quarter
// buckets; and the pass itself (UsageTick). Samples of unknown tenants,
// unknown kinds or over-long names are skipped and counted.
func (tx *Tx) RecordUsage(ctx context.Context, at time.Time, interval time.Duration, samples []UsageSample) (skipped int, err error) {
	now := at.Unix()
	upsertW, err := tx.tx.PrepareContext(ctx, `INSERT INTO usage_workloads (tenant, kind, name, cpu_request, memory_request, gpu_request, pods, first_seen, last_seen)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tenants WHERE name = ?)
		ON CONFLICT (tenant, kind, name) DO UPDATE SET cpu_request = excluded.cpu_request, memory_request = excluded.memory_request,
			gpu_request = excluded.gpu_request, pods = excluded.pods, last_seen = excluded.last_seen
		RETURNING id`)
	if err != nil {
		return 0, err
	}
	defer upsertW.Close()
	upsertP, err := tx.tx.PrepareContext(ctx, `INSERT INTO usage_points (workload, tier, t, n, cpu, cpu_max, mem, mem_max, gpu, gpu_max)
		VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workload, tier, t) DO UPDATE SET n = n + 1, cpu = cpu + excluded.cpu, cpu_max = max(cpu_max, excluded.cpu),
			mem = mem + excluded.mem, mem_max = max(mem_max, excluded.mem), gpu = gpu + excluded.gpu, gpu_max = max(gpu_max, excluded.gpu)`)
	if err != nil {
		return 0, err
	}
	defer upsertP.Close()
	for _, s := range samples {
		if !s.Key.Kind.Valid() || s.Key.Name == "" || len(s.Key.Name) > MaxWorkloadName || s.Key.Tenant == "" {
			skipped++
			continue
		}
		var id int64
		err := upsertW.QueryRowContext(ctx, s.Key.Tenant, string(s.Key.Kind), s.Key.Name, s.Request.CPU, s.Request.Memory, s.Request.GPU, s.Pods,
			now, now, s.Key.Tenant).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			skipped++ // a tenant the store does not know (deleted meanwhile)
			continue
		}
		if err != nil {
			return skipped, fmt.Errorf("usage workload %s: %w", s.Key, err)
		}
		u := s.Use
		for tier, step := range TierStep {
			if _, err := upsertP.ExecContext(ctx, id, tier, now-now%step, u.CPU, u.CPU, u.Memory, u.Memory, u.GPU, u.GPU); err != nil {
				return skipped, fmt.Errorf("usage point %s: %w", s.Key, err)
			}
		}
	}
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO usage_ticks (id, at, interval) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at, interval = excluded.interval`, now, max(int64(interval/time.Second), 1))
	return skipped, err
}

// UsageTick is the sampler's last pass and its interval (zero time: none yet).
func (tx *Tx) UsageTick(ctx context.Context) (time.Time, time.Duration, error) {
	var at, interval int64
	err := tx.tx.QueryRowContext(ctx, "SELECT at, interval FROM usage_ticks WHERE id = 1").Scan(&at, &interval)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, 0, nil
	}
	if err != nil {
		return time.Time{}, 0, err
	}
	return time.Unix(at, 0).UTC(), time.Duration(interval) * time.Second, nil
}

// PruneUsage deletes points older than their tier keeps and the workloads
// (with their points) not seen for the whole retention. It returns how
// many workloads went.
func (tx *Tx) PruneUsage(ctx context.Context, now time.Time, r UsageRetention) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	n := now.Unix()
	for tier, keep := range []time.Duration{r.Raw, r.Minute, r.Quarter} {
		// Per workload (the key's first column), so each delete is a range.
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM usage_points WHERE workload IN (SELECT id FROM usage_workloads) AND tier = ? AND t < ?`,
			tier, n-int64(keep/time.Second)); err != nil {
			return 0, fmt.Errorf("prune usage tier %d: %w", tier, err)
		}
	}
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM usage_workloads WHERE last_seen < ?", n-int64(r.Quarter/time.Second))
	if err != nil {
		return 0, fmt.Errorf("prune usage workloads: %w", err)
	}
	gone, _ := res.RowsAffected()
	return gone, nil
}

const usageWorkloadCols = "id, tenant, kind, name, pods, cpu_request, memory_request, gpu_request, first_seen, last_seen"

func scanUsageWorkload(scan func(...any) error) (UsageWorkload, error) {
	var w UsageWorkload
	var kind string
	var first, last int64
	err := scan(&w.ID, &w.Key.Tenant, &kind, &w.Key.Name, &w.Pods, &w.Request.CPU, &w.Request.Memory, &w.Request.GPU, &first, &last)
	w.Key.Kind, w.FirstSeen, w.LastSeen = WorkloadKind(kind), time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
	return w, err
}

// UsageWorkload reads one workload's row.
func (tx *Tx) UsageWorkload(ctx context.Context, k WorkloadKey) (UsageWorkload, error) {
	row := tx.tx.QueryRowContext(ctx, "SELECT "+usageWorkloadCols+" FROM usage_workloads WHERE tenant = ? AND kind = ? AND name = ?",
		k.Tenant, string(k.Kind), k.Name)
	w, err := scanUsageWorkload(row.Scan)
	return w, mapErr(err)
}

// LiveUsage is a workload seen in the sampler's last pass, with that
// pass's sample.
type LiveUsage struct {
	Workload UsageWorkload
	Current  UsagePoint
}

// LiveUsage lists the workloads seen in the last pass at, of the given
// tenants (none: all), heaviest CPU first, at most limit.
func (tx *Tx) LiveUsage(ctx context.Context, at time.Time, tenants []string, limit int) ([]LiveUsage, error) {
	q := `SELECT w.id, w.tenant, w.kind, w.name, w.pods, w.cpu_request, w.memory_request, w.gpu_request, w.first_seen, w.last_seen,
		p.t, p.n, p.cpu, p.cpu_max, p.mem, p.mem_max, p.gpu, p.gpu_max
		FROM usage_workloads w JOIN usage_points p ON p.workload = w.id AND p.tier = 0 AND p.t = w.last_seen
		WHERE w.last_seen = ?`
	args := []any{at.Unix()}
	if len(tenants) > 0 {
		q += " AND w.tenant IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(tenants)), ", ") + ")"
		for _, t := range tenants {
			args = append(args, t)
		}
	}
	q += " ORDER BY p.cpu DESC, w.tenant, w.kind, w.name LIMIT ?"
	rows, err := tx.tx.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LiveUsage{}
	for rows.Next() {
		var l LiveUsage
		var kind string
		var first, last int64
		var p rawPoint
		if err := rows.Scan(&l.Workload.ID, &l.Workload.Key.Tenant, &kind, &l.Workload.Key.Name, &l.Workload.Pods, &l.Workload.Request.CPU,
			&l.Workload.Request.Memory, &l.Workload.Request.GPU, &first, &last, &p.t, &p.n, &p.cpu, &p.cpuMax, &p.mem, &p.memMax, &p.gpu, &p.gpuMax); err != nil {
			return nil, err
		}
		l.Workload.Key.Kind, l.Workload.FirstSeen, l.Workload.LastSeen = WorkloadKind(kind), time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		l.Current = p.point()
		out = append(out, l)
	}
	return out, rows.Err()
}

// rawPoint is a usage_points row as stored (sums).
type rawPoint struct {
	t, n                                  int64
	cpu, cpuMax, mem, memMax, gpu, gpuMax int64
}

func (p rawPoint) point() UsagePoint {
	n := max(p.n, 1)
	return UsagePoint{Time: time.Unix(p.t, 0).UTC(), N: p.n,
		Mean: UsageAmount{CPU: p.cpu / n, Memory: p.mem / n, GPU: p.gpu / n},
		Peak: UsageAmount{CPU: p.cpuMax, Memory: p.memMax, GPU: p.gpuMax}}
}

// MaxUsagePoints bounds one series read.
const MaxUsagePoints = 1500

// UsageSeries reads a workload's points of one tier since a time, oldest
// first, at most MaxUsagePoints (the newest of them).
func (tx *Tx) UsageSeries(ctx context.Context, workload int64, tier int, since time.Time) ([]UsagePoint, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT t, n, cpu, cpu_max, mem, mem_max, gpu, gpu_max FROM (
		SELECT * FROM usage_points WHERE workload = ? AND tier = ? AND t >= ? ORDER BY t DESC LIMIT ?) ORDER BY t`,
		workload, tier, since.Unix(), MaxUsagePoints)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []UsagePoint{}
	for rows.Next() {
		var p rawPoint
		if err := rows.Scan(&p.t, &p.n, &p.cpu, &p.cpuMax, &p.mem, &p.memMax, &p.gpu, &p.gpuMax); err != nil {
			return nil, err
		}
		out = append(out, p.point())
	}
	return out, rows.Err()
}

// UsageStats is a workload's mean and peak over every sample still kept
// (the quarter tier holds them all), and its latest raw sample.
type UsageStats struct {
	Latest  *UsagePoint
	Overall UsagePoint // Time: the oldest bucket; N: samples
}

// UsageStats reads a workload's latest sample and its overall mean and peak.
func (tx *Tx) UsageStats(ctx context.Context, workload int64) (UsageStats, error) {
	var out UsageStats
	var p rawPoint
	err := tx.tx.QueryRowContext(ctx, `SELECT t, n, cpu, cpu_max, mem, mem_max, gpu, gpu_max FROM usage_points
		WHERE workload = ? AND tier = 0 ORDER BY t DESC LIMIT 1`, workload).Scan(&p.t, &p.n, &p.cpu, &p.cpuMax, &p.mem, &p.memMax, &p.gpu, &p.gpuMax)
	switch {
	case err == nil:
		latest := p.point()
		out.Latest = &latest
	case !errors.Is(err, sql.ErrNoRows):
		return out, err
	}
	var o rawPoint
	err = tx.tx.QueryRowContext(ctx, `SELECT coalesce(min(t), 0), coalesce(sum(n), 0), coalesce(sum(cpu), 0), coalesce(max(cpu_max), 0),
		coalesce(sum(mem), 0), coalesce(max(mem_max), 0), coalesce(sum(gpu), 0), coalesce(max(gpu_max), 0)
		FROM usage_points WHERE workload = ? AND tier = ?`, workload, TierQuarter).Scan(&o.t, &o.n, &o.cpu, &o.cpuMax, &o.mem, &o.memMax, &o.gpu, &o.gpuMax)
	out.Overall = o.point()
	return out, err
}

// TenantRequested sums the requests of a tenant's workloads seen in the
// pass at (what its pods that have not ended hold against its quota) and
// their latest use.
func (tx *Tx) TenantRequested(ctx context.Context, tenant string, at time.Time) (req, use UsageAmount, err error) {
	err = tx.tx.QueryRowContext(ctx, `SELECT coalesce(sum(w.cpu_request), 0), coalesce(sum(w.memory_request), 0), coalesce(sum(w.gpu_request), 0),
		coalesce(sum(p.cpu), 0), coalesce(sum(p.mem), 0), coalesce(sum(p.gpu), 0)
		FROM usage_workloads w JOIN usage_points p ON p.workload = w.id AND p.tier = 0 AND p.t = w.last_seen
		WHERE w.tenant = ? AND w.last_seen = ?`, tenant, at.Unix()).Scan(&req.CPU, &req.Memory, &req.GPU, &use.CPU, &use.Memory, &use.GPU)
	return req, use, err
}

// MaxQueuedJobs bounds QueuedJobs.
const MaxQueuedJobs = 10000

// QueuedJobs lists a tenant's queued jobs in submission order (at most
// MaxQueuedJobs), for its quota use.
func (tx *Tx) QueuedJobs(ctx context.Context, tenant string) ([]Job, error) {
	return tx.jobs(ctx, "tenant = ? AND state = ? ORDER BY id LIMIT ?", tenant, string(JobQueued), MaxQueuedJobs)
}

// StateCount is how many of a tenant's objects are in one state.
type StateCount struct {
	Tenant string
	State  string
	N      int64
}

// JobStateCounts counts every tenant's jobs by state (for /metrics).
func (tx *Tx) JobStateCounts(ctx context.Context) ([]StateCount, error) {
	return tx.stateCounts(ctx, "SELECT tenant, state, count(*) FROM jobs GROUP BY tenant, state")
}

// NotebookStateCounts counts every tenant's notebooks by state.
func (tx *Tx) NotebookStateCounts(ctx context.Context) ([]StateCount, error) {
	return tx.stateCounts(ctx, "SELECT tenant, state, count(*) FROM notebooks GROUP BY tenant, state")
}

func (tx *Tx) stateCounts(ctx context.Context, q string) ([]StateCount, error) {
	rows, err := tx.tx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StateCount
	for rows.Next() {
		var c StateCount
		if err := rows.Scan(&c.Tenant, &c.State, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UsedBytes is the space the database's pages hold, free pages left out
// (page size × (page count − freelist count)), as a read sees it.
func (tx *Tx) UsedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	for q, dst := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
		if err := tx.tx.QueryRowContext(ctx, q).Scan(dst); err != nil {
			return 0, err
		}
	}
	return (pages - free) * size, nil
}

// CountUsagePoints counts the stored points of every tier.
func (tx *Tx) CountUsagePoints(ctx context.Context, n *int64) error {
	return tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM usage_points").Scan(n)
}
