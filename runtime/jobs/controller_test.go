package jobs

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

func readyNode(name, cpu, mem string, gpu int64) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
		Allocatable: rl(cpu, mem, gpu),
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
	}}
}

// appliedByFerry says whether o's fields are owned by ferry's server-side apply.
func appliedByFerry(o metav1.Object) bool {
	for _, m := range o.GetManagedFields() {
		if m.Manager == controller.FieldManager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

type fixture struct {
	t    *testing.T
	db   *store.DB
	cs   *fake.Clientset
	ctrl *Controller
}

func newFixture(t *testing.T, opts ...func(*Controller)) *fixture {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	logs, err := OpenLogs(t.Context(), "file://"+filepath.Join(t.TempDir(), "blobs")+"?create_dir=true")
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(readyNode("n1", "8", "16Gi", 2))
	ctrl := NewController(db, cs, logs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctrl.Interval = 100 * time.Millisecond
	for _, o := range opts {
		o(ctrl)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = ctrl.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	f := &fixture{t: t, db: db, cs: cs, ctrl: ctrl}
	f.write(func(tx *store.Tx) error {
		tn, err := tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "8", Memory: "16Gi", GPU: 1}})
		if err == nil {
			ownNamespace(t, cs, tn)
		}
		return err
	})
	return f
}

// ownNamespace puts tenant tn's namespace, as the tenants reconciler makes
// it (owner label included), into the fake cluster.
func ownNamespace(t *testing.T, cs *fake.Clientset, tn store.Tenant) {
	t.Helper()
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), tenants.NamespaceObject(tn), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) write(fn func(*store.Tx) error) {
	f.t.Helper()
	if err := f.db.Write(f.t.Context(), fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) submit(j store.Job) {
	f.t.Helper()
	f.write(func(tx *store.Tx) error { _, err := tx.CreateJob(f.t.Context(), j); return err })
	f.ctrl.Poke()
}

func (f *fixture) waitJob(name string, cond func(store.Job) bool) store.Job {
	f.t.Helper()
	var j store.Job
	err := wait.PollUntilContextTimeout(f.t.Context(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		err := f.db.Read(ctx, func(tx *store.Tx) (err error) { j, err = tx.Job(ctx, "a", name); return })
		return err == nil && cond(j), nil
	})
	if err != nil {
		f.t.Fatalf("job %s: condition not met; last %+v", name, j)
	}
	return j
}

// TestControllerRunsAJobThroughItsLife drives the controller with a fake
// API server standing in for the kubelet and the Job controller: the job is
// created suspended, admitted, its pods' state comes back per replica, and
// it is marked succeeded only once each replica's log is in the bucket.
func TestControllerRunsAJobThroughItsLife(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.submit(store.Job{Tenant: "a", Name: "train", Spec: job(0, "a", "train", 2, "1", "1Gi", 0).Spec, CreatedBy: "alice"})
	f.waitJob("train", func(j store.Job) bool { return j.State == store.JobRunning && j.AdmittedAt != nil })
	kj, err := f.cs.BatchV1().Jobs("ferry-a").Get(ctx, "train", metav1.GetOptions{})
	if err != nil || kj.Spec.Suspend == nil || *kj.Spec.Suspend {
		t.Fatalf("the admitted Job is not running: %v %+v", err, kj)
	}
	svc, err := f.cs.CoreV1().Services("ferry-a").Get(ctx, "train", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("headless Service: %v", err)
	}
	// Written by server-side apply, whole: admission kept what creation set.
	for _, o := range []metav1.Object{kj, svc} {
		if !appliedByFerry(o) {
			t.Errorf("%s not server-side applied by ferry: %+v", o.GetName(), o.GetManagedFields())
		}
	}
	if kj.Annotations["ferry.io/job-id"] == "" || kj.Spec.Template.Spec.Containers[0].Image != "ferry.local/workload:1" {
		t.Errorf("the admitted Job lost fields: %+v", kj)
	}
	for i, phase := range []corev1.PodPhase{corev1.PodSucceeded, corev1.PodRunning} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "train-" + string(rune('0'+i)), Namespace: "ferry-a",
			Labels:      map[string]string{JobLabel: "train", tenants.TenantLabel: "a"},
			Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: string(rune('0' + i))}},
			Spec:   corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "main"}}},
			Status: corev1.PodStatus{Phase: phase}}
		if _, err := f.cs.CoreV1().Pods("ferry-a").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	j := f.waitJob("train", func(j store.Job) bool {
		return len(j.Replicas) == 2 && j.Replicas[0].Phase == "Succeeded" && j.Replicas[0].LogSaved && j.Replicas[1].Phase == "Running"
	})
	if j.Replicas[1].LogSaved || j.Replicas[0].Node != "n1" {
		t.Errorf("replicas = %+v", j.Replicas)
	}
	kj.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	kj.Status.StartTime = &metav1.Time{Time: time.Now().Add(-time.Minute)}
	if _, err := f.cs.BatchV1().Jobs("ferry-a").UpdateStatus(ctx, kj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p1, _ := f.cs.CoreV1().Pods("ferry-a").Get(ctx, "train-1", metav1.GetOptions{})
	p1.Status.Phase = corev1.PodSucceeded
	if _, err := f.cs.CoreV1().Pods("ferry-a").UpdateStatus(ctx, p1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	j = f.waitJob("train", func(j store.Job) bool { return j.State == store.JobSucceeded })
	if !j.Replicas[0].LogSaved || !j.Replicas[1].LogSaved || j.StartedAt == nil || j.FinishedAt == nil {
		t.Fatalf("succeeded job: %+v", j)
	}
	// The state is recorded first, then the objects go (a delete first
	// would read as "deleted outside ferry" if the state write failed):
	// wait for the deletes of the same sync.
	var jobErr, svcErr error
	_ = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, jobErr = f.cs.BatchV1().Jobs("ferry-a").Get(ctx, "train", metav1.GetOptions{})
		_, svcErr = f.cs.CoreV1().Services("ferry-a").Get(ctx, "train", metav1.GetOptions{})
		return jobErr != nil && svcErr != nil, nil
	})
	if jobErr == nil {
		t.Error("the finished job's Kubernetes Job was kept")
	}
	if svcErr == nil {
		t.Error("the finished job's Service was kept")
	}
	r, ok, err := f.ctrl.Logs.Open(ctx, Key("a", j.ID, 1))
	if err != nil || !ok {
		t.Fatalf("saved log of replica 1: %v %v", ok, err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "fake logs" { // what the fake clientset serves for any pod
		t.Errorf("saved log = %q", b)
	}
}

// TestControllerQueuesAJobOverQuotaUntilTheQuotaIsRaised checks the
// quota gate end to end: 2 GPUs against a whole quota of 1 can never run,
// so the job is inadmissible (queued, with the reason) and does not hold
// back a cheaper job of the same tenant submitted later, which runs;
// raising the quota starts the big one too.
func TestControllerQueuesAJobOverQuotaUntilTheQuotaIsRaised(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.submit(store.Job{Tenant: "a", Name: "big", Spec: job(0, "a", "big", 1, "1", "1Gi", 2).Spec, CreatedBy: "alice"})
	f.submit(store.Job{Tenant: "a", Name: "small", Spec: job(0, "a", "small", 1, "100m", "128Mi", 0).Spec, CreatedBy: "alice"})
	big := f.waitJob("big", func(j store.Job) bool { return strings.Contains(j.Reason, "tenant quota") })
	if big.State != store.JobQueued || !strings.HasPrefix(big.Reason, "inadmissible: ") || !strings.Contains(big.Reason, "needs 2 nvidia.com/gpu, 1 of 1 free") {
		t.Errorf("big: %s %q", big.State, big.Reason)
	}
	small := f.waitJob("small", func(j store.Job) bool { return j.State == store.JobRunning })
	kj, err := f.cs.BatchV1().Jobs("ferry-a").Get(ctx, "big", metav1.GetOptions{})
	if err != nil || !*kj.Spec.Suspend {
		t.Fatalf("the queued job's Job must exist suspended: %v", err)
	}
	f.write(func(tx *store.Tx) error {
		_, err := tx.UpdateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "8", Memory: "16Gi", GPU: 2}})
		return err
	})
	f.ctrl.Poke()
	f.waitJob("big", func(j store.Job) bool { return j.State == store.JobRunning })

	// Cancel: the Kubernetes objects go, the record says who cancelled.
	j, err := f.ctrl.Cancel(ctx, small, "alice", nil)
	if err != nil || j.State != store.JobCancelled || j.Reason != "cancelled by alice" {
		t.Fatalf("cancel: %v %+v", err, j)
	}
	if _, err := f.cs.BatchV1().Jobs("ferry-a").Get(ctx, "small", metav1.GetOptions{}); err == nil {
		t.Error("the cancelled job's Job still exists")
	}
	if _, err := f.ctrl.Cancel(ctx, j, "alice", nil); err == nil {
		t.Error("cancelling a cancelled job succeeded")
	}
}

// TestControllerCountsOnlyNodesJobPodsCanUse: a tainted node (a control
// plane) is no capacity for job pods, however large; a job that would fit
// only there waits, with the reason.
func TestControllerCountsOnlyNodesJobPodsCanUse(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	cp := readyNode("cp", "64", "256Gi", 0)
	cp.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	if _, err := f.cs.CoreV1().Nodes().Create(ctx, cp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.write(func(tx *store.Tx) error {
		_, err := tx.UpdateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "64", Memory: "64Gi", GPU: 1}})
		return err
	})
	// n1 has 8 cpu: 3 replicas × 4 cpu fit only if cp counted.
	f.submit(store.Job{Tenant: "a", Name: "wide", Spec: job(0, "a", "wide", 3, "4", "1Gi", 0).Spec, CreatedBy: "alice"})
	j := f.waitJob("wide", func(j store.Job) bool { return strings.Contains(j.Reason, "cluster capacity") })
	if j.State != store.JobQueued {
		t.Fatalf("a job that fits only on a tainted node: %s %q", j.State, j.Reason)
	}
}

// TestARestartedControllerResumesFromTheStoreAndTheCluster stops the
// controller while a job runs, lets the job finish in the cluster meanwhile,
// and starts a new controller on the same database: it finds the job,
// saves its log, marks it succeeded and cleans up, losing nothing.
func TestARestartedControllerResumesFromTheStoreAndTheCluster(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logs, err := OpenLogs(ctx, "file://"+filepath.Join(t.TempDir(), "blobs")+"?create_dir=true")
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(readyNode("n1", "8", "16Gi", 0))
	run := func() (context.CancelFunc, chan struct{}) {
		c := NewController(db, cs, logs, slog.New(slog.NewTextHandler(io.Discard, nil)))
		c.Interval = 50 * time.Millisecond
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = c.Start(cctx); close(done) }()
		return cancel, done
	}
	f := &fixture{t: t, db: db, cs: cs}
	f.write(func(tx *store.Tx) error {
		tn, err := tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "8", Memory: "16Gi"}})
		if err != nil {
			return err
		}
		ownNamespace(t, cs, tn)
		_, err = tx.CreateJob(ctx, store.Job{Tenant: "a", Name: "long", Spec: job(0, "a", "long", 1, "1", "1Gi", 0).Spec, CreatedBy: "alice"})
		return err
	})
	stop, done := run()
	f.waitJob("long", func(j store.Job) bool { return j.State == store.JobRunning })
	stop()
	<-done

	// While no controller runs, the pod ends and the Job completes.
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "long-0", Namespace: "ferry-a",
		Labels:      map[string]string{JobLabel: "long", tenants.TenantLabel: "a"},
		Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: "0"}},
		Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}
	if _, err := cs.CoreV1().Pods("ferry-a").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kj, err := cs.BatchV1().Jobs("ferry-a").Get(ctx, "long", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kj.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	if _, err := cs.BatchV1().Jobs("ferry-a").UpdateStatus(ctx, kj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	stop, done = run()
	defer func() { stop(); <-done }()
	j := f.waitJob("long", func(j store.Job) bool { return j.State == store.JobSucceeded })
	if len(j.Replicas) != 1 || !j.Replicas[0].LogSaved {
		t.Fatalf("after the restart: %+v", j)
	}
	if _, ok, err := logs.Open(ctx, Key("a", j.ID, 0)); !ok || err != nil {
		t.Fatalf("log not saved after the restart: %v %v", ok, err)
	}
}
