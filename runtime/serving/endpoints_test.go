package serving

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// revisionPod is a pod of the test deployment's revision n, as its
// ReplicaSet would make it, in namespace ns.
func revisionPod(d store.Deployment, n int64, ns, name, ip string, phase corev1.PodPhase, ready bool) *corev1.Pod {
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels(d, store.Revision{Number: n})},
		Status: corev1.PodStatus{Phase: phase, PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}}}}
}

// TestEndpointsAreTheReadyPodsOfRevisionsThePassApplied: only running,
// ready, not terminating pods with an address count; pods with the same
// labels in another namespace never do; a revision no pass applied (the
// tenant's namespace is not ferry's) has none, so the gateway falls back
// to the Service, which ferry did not make there either.
func TestEndpointsAreTheReadyPodsOfRevisionsThePassApplied(t *testing.T) {
	c, _, cs, d, _ := newTestController(t)
	ctx := t.Context()
	f := informers.NewSharedInformerFactory(cs, 0)
	t.Cleanup(f.Shutdown)
	if !cache.WaitForCacheSync(ctx.Done(), c.watchPods(ctx, f)) {
		t.Fatal("pod cache did not sync")
	}
	if got := c.Endpoints("a", "iris", "iris-r1"); got != nil {
		t.Fatalf("before any pass: %v", got)
	}
	gone := revisionPod(d, 1, "ferry-a", "r1-gone", "10.0.0.4", corev1.PodRunning, true)
	gone.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	for _, p := range []*corev1.Pod{
		revisionPod(d, 1, "ferry-a", "r1-ready", "10.0.0.2", corev1.PodRunning, true),
		revisionPod(d, 1, "ferry-a", "r1-ready-b", "10.0.0.1", corev1.PodRunning, true),
		revisionPod(d, 1, "ferry-a", "r1-starting", "10.0.0.3", corev1.PodRunning, false),
		gone,
		revisionPod(d, 1, "ferry-a", "r1-no-ip", "", corev1.PodPending, true),
		revisionPod(d, 1, "ferry-b", "elsewhere", "10.0.9.9", corev1.PodRunning, true),
		revisionPod(d, 2, "ferry-a", "r2-ready", "fd00::5", corev1.PodRunning, true),
	} {
		if _, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want1 := []string{fmt.Sprintf("http://10.0.0.1:%d", RuntimePort), fmt.Sprintf("http://10.0.0.2:%d", RuntimePort)}
	want2 := []string{fmt.Sprintf("http://[fd00::5]:%d", RuntimePort)}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(c.Endpoints("a", "iris", "iris-r2"), want2) || len(c.Endpoints("a", "iris", "iris-r1")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("endpoints: r1 %v, r2 %v", c.Endpoints("a", "iris", "iris-r1"), c.Endpoints("a", "iris", "iris-r2"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := c.Endpoints("a", "iris", "iris-r1"); !slices.Equal(got, want1) {
		t.Errorf("iris-r1: %v, want %v (ready, running, not terminating, with an address)", got, want1)
	}
	if got := c.Endpoints("a", "iris", "iris-r9"); got != nil {
		t.Errorf("a revision that does not exist: %v", got)
	}
	// Starting: running with an address, not ready, not terminating.
	if got, want := c.Starting("a", "iris", "iris-r1"), []string{fmt.Sprintf("http://10.0.0.3:%d", RuntimePort)}; !slices.Equal(got, want) {
		t.Errorf("iris-r1 starting: %v, want %v", got, want)
	}
	if got := c.Starting("a", "iris", "iris-r2"); got != nil {
		t.Errorf("iris-r2 has no starting pod, got %v", got)
	}

	// The namespace stops being the tenant's: the next pass applies
	// nothing there, and its pods are no longer offered.
	ns, err := cs.CoreV1().Namespaces().Get(ctx, tenants.Namespace("a"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(ns.Labels, tenants.TenantIDLabel)
	if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.Endpoints("a", "iris", "iris-r1"); got != nil {
		t.Errorf("pods in a namespace that is not the tenant's are offered: %v", got)
	}
	if got := c.Starting("a", "iris", "iris-r1"); got != nil {
		t.Errorf("starting pods in a namespace that is not the tenant's are offered: %v", got)
	}
}
