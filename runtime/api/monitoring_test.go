package api

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/store"
)

// logsRunner is a JobRunner that only writes logs.
type logsRunner struct{}

func (logsRunner) Poke() {}
func (logsRunner) Cancel(_ context.Context, j store.Job, _ string, _ func(*store.Tx) error) (store.Job, error) {
	return j, nil
}
func (logsRunner) WriteLogs(_ context.Context, _ store.Job, _ int32, _ bool, w io.Writer) error {
	_, err := io.WriteString(w, "hello\n")
	return err
}

func (e *apiEnv) sample(samples ...store.UsageSample) {
	e.t.Helper()
	err := e.db.Write(e.t.Context(), func(tx *store.Tx) error {
		_, err := tx.RecordUsage(e.t.Context(), e.db.Now(), 15*time.Second, samples)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestTopShowsOnlyTheCallersTenantsAndWorkloadUsageHasItsSeries checks
// top's visibility (member, other tenant, admin), a workload's current,
// average and peak against its request, and the window's bounds.
func TestTopShowsOnlyTheCallersTenantsAndWorkloadUsageHasItsSeries(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	alice := e.tenant("ml", "alice", map[string]any{"cpu": "8", "memory": "16Gi"})
	bob := e.tenant("other", "bob", map[string]any{"cpu": "8", "memory": "16Gi"})
	if r := e.must(200, "GET", "/api/v1/usage", alice, nil); len(r.body["items"].([]any)) != 0 || r.body["sampledAt"] != nil {
		t.Fatalf("before any sample: %s", r.raw)
	}
	train := store.WorkloadKey{Tenant: "ml", Kind: store.WorkloadJob, Name: "train"}
	e.sample(store.UsageSample{Key: train, Pods: 2, Request: store.UsageAmount{CPU: 2000, Memory: 2 << 30}, Use: store.UsageAmount{CPU: 3e9, Memory: 1 << 30}},
		store.UsageSample{Key: store.WorkloadKey{Tenant: "ml", Kind: store.WorkloadNotebook, Name: "lab"}, Pods: 1, Use: store.UsageAmount{CPU: 1e8, Memory: 1 << 20}},
		store.UsageSample{Key: store.WorkloadKey{Tenant: "other", Kind: store.WorkloadJob, Name: "x"}, Pods: 1, Use: store.UsageAmount{CPU: 1e9}})
	top := e.must(200, "GET", "/api/v1/usage", alice, nil)
	items := top.body["items"].([]any)
	if len(items) != 2 || top.body["stale"] != false || top.body["intervalSeconds"].(float64) != 15 {
		t.Fatalf("alice's top: %s", top.raw)
	}
	first := items[0].(map[string]any)
	if first["name"] != "train" || first["current"].(map[string]any)["cpuMillicores"].(float64) != 3000 || first["request"].(map[string]any)["cpuMillicores"].(float64) != 2000 {
		t.Fatalf("heaviest first, millicores: %v", first)
	}
	if r := e.must(200, "GET", "/api/v1/usage", bob, nil); len(r.body["items"].([]any)) != 1 {
		t.Fatalf("bob's top: %s", r.raw)
	}
	if r := e.must(200, "GET", "/api/v1/usage", e.admin, nil); len(r.body["items"].([]any)) != 3 {
		t.Fatalf("admin's top: %s", r.raw)
	}
	e.must(404, "GET", "/api/v1/usage?tenant=other", alice, nil)
	e.must(401, "GET", "/api/v1/usage", "", nil)

	u := e.must(200, "GET", "/api/v1/tenants/ml/usage/job/train?window=1h", alice, nil)
	if u.body["current"] == nil || u.body["peak"].(map[string]any)["memoryBytes"].(float64) != 1<<30 || u.body["samples"].(float64) != 1 ||
		len(u.body["series"].([]any)) != 1 {
		t.Fatalf("workload usage: %s", u.raw)
	}
	if u := e.must(200, "GET", "/api/v1/tenants/ml/usage/job/train", alice, nil); u.body["series"] != nil {
		t.Fatalf("a series without a window: %s", u.raw)
	}
	e.must(404, "GET", "/api/v1/tenants/ml/usage/job/nope", alice, nil)
	e.must(404, "GET", "/api/v1/tenants/ml/usage/job/train", bob, nil)
	e.must(422, "GET", "/api/v1/tenants/ml/usage/pod/train", alice, nil)
	for _, w := range []string{"8d", "10s", "soon"} {
		if r := e.must(422, "GET", "/api/v1/tenants/ml/usage/job/train?window="+w, alice, nil); problemAt(t, r) != "query.window" {
			t.Errorf("window %s: %s", w, r.raw)
		}
	}
}

// TestTenantQuotaUseSumsItsPodsRequestsAndItsQueuedJobs checks the quota
// endpoint against a sample and a queued job.
func TestTenantQuotaUseSumsItsPodsRequestsAndItsQueuedJobs(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	alice := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi", "gpu": 1})
	q := e.must(200, "GET", "/api/v1/tenants/ml/quota", alice, nil)
	if q.body["free"].(map[string]any)["cpuMillicores"].(float64) != 4000 || q.body["sampledAt"] != nil {
		t.Fatalf("before any sample: %s", q.raw)
	}
	e.must(201, "POST", "/api/v1/tenants/ml/jobs", alice, map[string]any{"name": "later", "image": "busybox:1", "command": []string{"true"}, "replicas": 2,
		"resources": map[string]any{"cpu": "500m", "memory": "1Gi"}})
	e.sample(store.UsageSample{Key: store.WorkloadKey{Tenant: "ml", Kind: store.WorkloadNotebook, Name: "lab"}, Pods: 1,
		Request: store.UsageAmount{CPU: 1500, Memory: 3 << 30, GPU: 1}, Use: store.UsageAmount{CPU: 2e8, Memory: 1 << 30, GPU: 55}})
	q = e.must(200, "GET", "/api/v1/tenants/ml/quota", alice, nil)
	num := func(m any, k string) float64 { return m.(map[string]any)[k].(float64) }
	b := q.body
	if num(b["limit"], "cpuMillicores") != 4000 || num(b["requested"], "cpuMillicores") != 1500 || num(b["free"], "cpuMillicores") != 2500 ||
		num(b["free"], "memoryBytes") != 5<<30 || num(b["free"], "gpu") != 0 || num(b["used"], "cpuMillicores") != 200 || num(b["used"], "gpuPercent") != 55 {
		t.Fatalf("quota use: %s", q.raw)
	}
	queued := b["queued"].(map[string]any)
	if queued["jobs"].(float64) != 1 || queued["replicas"].(float64) != 2 || num(queued["request"], "cpuMillicores") != 1000 || num(queued["request"], "memoryBytes") != 2<<30 {
		t.Fatalf("queued: %v", queued)
	}
	e.must(404, "GET", "/api/v1/tenants/ml/quota", e.user("mallory"), nil)
}

// TestReadsAreRecordedAfterAuthorizationAndListedToOwnersOnly reads a
// job's log as a viewer, then lists the reads as owner, viewer, stranger.
func TestReadsAreRecordedAfterAuthorizationAndListedToOwnersOnly(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, func(c *Config) { c.Jobs = logsRunner{} })
	alice := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	carol := e.user("carol")
	e.must(200, "PUT", "/api/v1/tenants/ml/members/carol", alice, map[string]any{"role": "viewer"})
	e.must(201, "POST", "/api/v1/tenants/ml/jobs", alice, map[string]any{"name": "train", "image": "busybox:1", "command": []string{"true"}})
	if r := e.must(200, "GET", "/api/v1/tenants/ml/jobs/train/logs", carol, nil); r.raw != "hello\n" {
		t.Fatalf("log: %q", r.raw)
	}
	// Refused reads record nothing: a stranger, no token, a replica out of range.
	e.must(404, "GET", "/api/v1/tenants/ml/jobs/train/logs", e.user("mallory"), nil)
	e.must(401, "GET", "/api/v1/tenants/ml/jobs/train/logs", "", nil)
	e.must(422, "GET", "/api/v1/tenants/ml/jobs/train/logs?replica=5", carol, nil)
	reads := e.must(200, "GET", "/api/v1/tenants/ml/reads", alice, nil)
	items := reads.body["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("reads: %s", reads.raw)
	}
	if r := items[0].(map[string]any); r["actor"] != "carol" || r["kind"] != "log" || r["object"] != "job/train replica 0" {
		t.Fatalf("read: %v", r)
	}
	e.must(403, "GET", "/api/v1/tenants/ml/reads", carol, nil)
	e.must(200, "GET", "/api/v1/tenants/ml/reads?actor=carol&kind=log", e.admin, nil)
	if r := e.must(200, "GET", "/api/v1/tenants/ml/reads?kind=model", alice, nil); len(r.body["items"].([]any)) != 0 {
		t.Fatalf("kind filter: %s", r.raw)
	}
}
