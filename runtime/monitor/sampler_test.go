package monitor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ferry-ml/ferry/store"
)

func testDB(t testing.TB, tenants ...string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	err = db.Write(context.Background(), func(tx *store.Tx) error {
		for _, n := range tenants {
			if _, err := tx.CreateTenant(context.Background(), store.Tenant{Name: n, DisplayName: n, Quota: store.Quota{CPU: "8", Memory: "16Gi", GPU: 2}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func pod(ns, name, uid, node string, lbl map[string]string, cpu, mem string, phase corev1.PodPhase) *corev1.Pod {
	req := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	l := map[string]string{"app.kubernetes.io/managed-by": "ferry"}
	for k, v := range lbl {
		l[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid), Labels: l},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "main", Resources: corev1.ResourceRequirements{Requests: req, Limits: req}}}},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

// fixturePods are the ferry pods of testdata/summary.json's node and one
// on a node whose kubelet does not answer.
func fixturePods() []*corev1.Pod {
	job := map[string]string{"ferry.io/tenant": "ml", "ferry.io/job": "train"}
	return []*corev1.Pod{
		pod("ferry-ml", "train-0-x7k2p", "11111111-1111-1111-1111-111111111111", "ferry-worker", job, "1", "1Gi", corev1.PodRunning),
		pod("ferry-ml", "train-1-qqqqq", "66666666", "ferry-worker2", job, "1", "1Gi", corev1.PodRunning),
		pod("ferry-ml", "nb-lab-0", "22222222-2222-2222-2222-222222222222", "ferry-worker",
			map[string]string{"ferry.io/tenant": "ml", "ferry.io/notebook": "lab"}, "500m", "2Gi", corev1.PodRunning),
		pod("ferry-ml", "fp-0123456789-prep-0-1", "33333333-3333-3333-3333-333333333333", "ferry-worker",
			map[string]string{"ferry.io/tenant": "ml", "ferry.io/pipeline-run": "0123456789abcdef", "ferry.io/pipeline-step": "prep"}, "250m", "256Mi", corev1.PodRunning),
		pod("ferry-vision", "gpu-0-abcde", "44444444-4444-4444-4444-444444444444", "ferry-worker",
			map[string]string{"ferry.io/tenant": "vision", "ferry.io/deployment": "det", "ferry.io/revision": "det-r2"}, "2", "4Gi", corev1.PodRunning),
		// Pending (no node yet): its requests count, it uses nothing.
		pod("ferry-vision", "wait-0-aaaaa", "77777777", "", map[string]string{"ferry.io/tenant": "vision", "ferry.io/job": "wait"}, "1", "1Gi", corev1.PodPending),
		// Ended: neither.
		pod("ferry-ml", "old-0-bbbbb", "88888888", "ferry-worker", map[string]string{"ferry.io/tenant": "ml", "ferry.io/job": "old"}, "1", "1Gi", corev1.PodSucceeded),
		// Outside its tenant's namespace: not a ferry workload.
		pod("default", "spoof", "99999999", "ferry-worker", map[string]string{"ferry.io/tenant": "ml", "ferry.io/job": "spoof"}, "1", "1Gi", corev1.PodRunning),
	}
}

func fixtureSummary(_ context.Context, node string) (io.ReadCloser, error) {
	if node != "ferry-worker" {
		return nil, errors.New("the kubelet does not answer")
	}
	return os.Open("testdata/summary.json")
}

// TestMonitorPassSumsPodsPerFerryObjectAndStoresThem runs one pass over
// fixture pods with the fixture summary and reads back what top shows.
func TestMonitorPassSumsPodsPerFerryObjectAndStoresThem(t *testing.T) {
	t.Parallel()
	db := testDB(t, "ml", "vision")
	now := time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC)
	s, err := New(db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	s.Summary = fixtureSummary
	if err := s.PassOver(t.Context(), fixturePods()); err != nil {
		t.Fatal(err)
	}
	if s.last.failed != 1 || s.last.nodes != 2 || s.last.workloads != 5 {
		t.Fatalf("pass stats %+v: want 2 nodes asked, 1 failed, 5 workloads", s.last)
	}
	var live []store.LiveUsage
	_ = db.Read(t.Context(), func(tx *store.Tx) (err error) { live, err = tx.LiveUsage(t.Context(), now, nil, 100); return })
	got := map[string]store.LiveUsage{}
	for _, l := range live {
		got[l.Workload.Key.String()] = l
	}
	want := map[string]struct {
		pods     int64
		req, use store.UsageAmount
	}{
		// Two replicas: one measured, one on a silent node (requests only).
		"ml/job/train":                  {2, store.UsageAmount{CPU: 2000, Memory: 2 << 30}, store.UsageAmount{CPU: 953000000, Memory: 373741824}},
		"ml/notebook/lab":               {1, store.UsageAmount{CPU: 500, Memory: 2 << 30}, store.UsageAmount{CPU: 2500000, Memory: 84000000}},
		"ml/step/0123456789abcdef.prep": {1, store.UsageAmount{CPU: 250, Memory: 256 << 20}, store.UsageAmount{CPU: 15000000, Memory: 4000000}},
		"vision/revision/det-r2":        {1, store.UsageAmount{CPU: 2000, Memory: 4 << 30}, store.UsageAmount{CPU: 1201000000, Memory: 2148532224, GPU: 100}},
		"vision/job/wait":               {1, store.UsageAmount{CPU: 1000, Memory: 1 << 30}, store.UsageAmount{}},
	}
	if len(got) != len(want) {
		t.Fatalf("live workloads %v, want %d", live, len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || g.Workload.Pods != w.pods || g.Workload.Request != w.req || g.Current.Mean != w.use {
			t.Errorf("%s: %+v, want %+v", k, g, w)
		}
	}
}

// TestMonitorConfigDefaultsAndBounds checks the defaults the docs state
// and refuses intervals the tiers cannot hold.
func TestMonitorConfigDefaultsAndBounds(t *testing.T) {
	t.Parallel()
	var c Config
	if err := c.Validate(); err != nil || c.Interval != 15*time.Second || c.Retention.Quarter != 7*24*time.Hour || c.Retention.Raw != time.Hour ||
		c.Access.Age != 90*24*time.Hour {
		t.Fatalf("defaults %+v, %v", c, err)
	}
	for _, bad := range []Config{{Interval: 500 * time.Millisecond}, {Interval: 45 * time.Minute}, {Retention: store.UsageRetention{Raw: 2 * time.Hour, Minute: time.Hour}}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}

// TestRequestsCountAsTheResourceQuotaDoes: the larger of the containers'
// sum and the largest init container, GPUs from limits when not requested.
func TestRequestsCountAsTheResourceQuotaDoes(t *testing.T) {
	t.Parallel()
	p := pod("ferry-ml", "p", "u", "n", nil, "250m", "256Mi", corev1.PodRunning)
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		Limits:   corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}}})
	p.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}}
	if got, want := Requests(p), (store.UsageAmount{CPU: 500, Memory: 1 << 30, GPU: 1}); got != want {
		t.Errorf("Requests = %+v, want %+v", got, want)
	}
}
