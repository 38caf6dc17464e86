package serving

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// boostPod is a revision pod made at created whose model container asks
// for cpu (request and limit).
func boostPod(d store.Deployment, name, cpu string, created time.Time, ready bool) *corev1.Pod {
	p := revisionPod(d, 1, "ferry-a", name, "10.0.0.7", corev1.PodRunning, ready)
	p.UID = types.UID("uid-" + name)
	p.CreationTimestamp = metav1.Time{Time: created}
	p.Spec.NodeName = "node-1"
	p.Status.StartTime = &metav1.Time{Time: created}
	q := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	p.Spec.Containers = []corev1.Container{{Name: ModelContainer, Resources: corev1.ResourceRequirements{Requests: q, Limits: q}}}
	return p
}

func TestWantCPUIsTheStartupCPUOnlyWhileAPodStarts(t *testing.T) {
	now := time.Now()
	d := store.Deployment{Tenant: "a", Name: "iris"}
	boosted := routeTarget{cpu: resource.MustParse("250m"), startup: resource.MustParse("1")}
	deleting := boostPod(d, "p", "1", now.Add(-time.Second), false)
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	failed := boostPod(d, "p", "1", now.Add(-time.Second), false)
	failed.Status.Phase = corev1.PodFailed
	pending := boostPod(d, "p", "250m", now, false)
	pending.Status.Phase = corev1.PodPending
	unscheduled := boostPod(d, "p", "250m", now, false)
	unscheduled.Status.Phase = corev1.PodPending
	unscheduled.Spec.NodeName = ""
	unscheduled.Status.StartTime = nil
	unadmitted := boostPod(d, "p", "250m", now, false)
	unadmitted.Status.Phase = corev1.PodPending
	unadmitted.Status.StartTime = nil
	resizePending := func(reason string, since time.Duration) *corev1.Pod {
		p := boostPod(d, "p", "1", now.Add(-time.Second), false)
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodResizePending, Status: corev1.ConditionTrue,
			Reason: reason, LastTransitionTime: metav1.Time{Time: now.Add(-since)}})
		return p
	}
	for _, c := range []struct {
		name   string
		p      *corev1.Pod
		t      routeTarget
		done   bool
		want   string
		resize bool
	}{
		{"a pod not yet scheduled", unscheduled, boosted, false, "250m", false},
		{"a pod scheduled, not yet admitted by the kubelet", unadmitted, boosted, false, "250m", false},
		{"a pod admitted, not yet running", pending, boosted, false, "1", true},
		{"a boost the kubelet finds infeasible", resizePending(corev1.PodReasonInfeasible, 0), boosted, false, "250m", true},
		{"a boost the kubelet has just deferred", resizePending(corev1.PodReasonDeferred, time.Second), boosted, false, "1", true},
		{"a boost the kubelet has deferred for DeferredGrace", resizePending(corev1.PodReasonDeferred, DeferredGrace), boosted, false, "250m", true},
		{"a running pod, not ready", boostPod(d, "p", "250m", now.Add(-time.Second), false), boosted, false, "1", true},
		{"a ready pod", boostPod(d, "p", "1", now.Add(-time.Second), true), boosted, false, "250m", true},
		{"a pod older than MaxBoost that never turned ready", boostPod(d, "p", "1", now.Add(-MaxBoost), false), boosted, false, "250m", true},
		{"a pod whose boost is over and that turned unready", boostPod(d, "p", "250m", now.Add(-time.Second), false), boosted, true, "250m", true},
		{"a pod being deleted", deleting, boosted, false, "250m", false},
		{"a pod that ended", failed, boosted, false, "250m", false},
		{"a revision without a boost", boostPod(d, "p", "250m", now, false), routeTarget{cpu: resource.MustParse("250m")}, false, "250m", false},
		{"a startup cpu equal to the cpu", boostPod(d, "p", "250m", now, false), routeTarget{cpu: resource.MustParse("250m"), startup: resource.MustParse("0.25")}, false, "250m", false},
	} {
		got, resize := wantCPU(c.p, c.t, c.done, now)
		if got.Cmp(resource.MustParse(c.want)) != 0 || resize != c.resize {
			t.Errorf("%s: %s, resize %v; want %s, resize %v", c.name, got.String(), resize, c.want, c.resize)
		}
	}
}

func TestResizeCPUSetsRequestAndLimitOfTheModelContainer(t *testing.T) {
	var got struct {
		Spec corev1.PodSpec `json:"spec"`
	}
	if err := json.Unmarshal(resizeCPU(resource.MustParse("1500m")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.Containers) != 1 || got.Spec.Containers[0].Name != ModelContainer {
		t.Fatalf("containers: %+v", got.Spec.Containers)
	}
	r := got.Spec.Containers[0].Resources
	if r.Requests.Cpu().String() != "1500m" || r.Limits.Cpu().String() != "1500m" || len(r.Requests) != 1 || len(r.Limits) != 1 {
		t.Errorf("resources: %+v (a Guaranteed pod must stay Guaranteed: request = limit, cpu only)", r)
	}
}

// boostFixture is a controller with a pod cache over its clientset, the
// objects pods makes (from the test deployment) in it, and one applied
// revision (iris-r1) of cpu 250m with the given startup CPU.
func boostFixture(t *testing.T, startup string, objs func(d store.Deployment) []runtime.Object) (*Controller, *fake.Clientset) {
	t.Helper()
	c, _, cs, d, _ := newTestController(t)
	for _, o := range objs(d) {
		if err := cs.Tracker().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	f := informers.NewSharedInformerFactory(cs, 0)
	t.Cleanup(f.Shutdown)
	if !cache.WaitForCacheSync(ctx.Done(), c.watchPods(ctx, f)) {
		t.Fatal("pod cache did not sync")
	}
	tg := routeTarget{selector: k8slabels.SelectorFromSet(labels(d, store.Revision{Number: 1})), port: RuntimePort, cpu: resource.MustParse("250m")}
	if startup != "" {
		tg.startup = resource.MustParse(startup)
	}
	c.routes.replace(map[revisionKey]routeTarget{{"a", "iris", "iris-r1"}: tg}, nil)
	return c, cs
}

// waitCached waits until the pod cache has ns/name with cpu on its model
// container.
func waitCached(t *testing.T, c *Controller, name, cpu string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p, err := c.podLister.Load().(podLister).Pods("ferry-a").Get(name); err == nil {
			if have, _ := podCPU(p); have.Cmp(resource.MustParse(cpu)) == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod cache never showed %s with cpu %s", name, cpu)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// resizes are the pods/resize patches cs saw, as the cpu each asked for.
func resizes(t *testing.T, cs *fake.Clientset) []string {
	t.Helper()
	var out []string
	for _, a := range cs.Actions() {
		pa, ok := a.(k8stesting.PatchAction)
		if !ok || a.GetResource() != (schema.GroupVersionResource{Version: "v1", Resource: "pods"}) {
			continue
		}
		if a.GetSubresource() != "resize" {
			// The only other patch: the declared-cpu annotation.
			var m map[string]any
			if err := json.Unmarshal(pa.GetPatch(), &m); err != nil || len(m) != 1 || m["metadata"] == nil || a.GetSubresource() != "" {
				t.Errorf("a pod patch on %q that is not the annotation: %s", a.GetSubresource(), pa.GetPatch())
			}
			continue
		}
		var p struct {
			Spec corev1.PodSpec `json:"spec"`
		}
		if err := json.Unmarshal(pa.GetPatch(), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Spec.Containers[0].Resources.Requests.Cpu().String())
	}
	return out
}

func quota(hardCPU, usedCPU string) *corev1.ResourceQuota {
	hard := corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse(hardCPU), corev1.ResourceLimitsCPU: resource.MustParse(hardCPU)}
	used := corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse(usedCPU), corev1.ResourceLimitsCPU: resource.MustParse(usedCPU)}
	return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: tenants.QuotaName, Namespace: "ferry-a"},
		Spec: corev1.ResourceQuotaSpec{Hard: hard}, Status: corev1.ResourceQuotaStatus{Hard: hard, Used: used}}
}

// setReady marks the pod ready (through the API) and waits for the cache.
func setReady(t *testing.T, c *Controller, cs *fake.Clientset, name string) {
	t.Helper()
	p, err := cs.CoreV1().Pods("ferry-a").Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := cs.CoreV1().Pods("ferry-a").UpdateStatus(t.Context(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p, err := c.podLister.Load().(podLister).Pods("ferry-a").Get(name); err == nil && ready(p) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache never showed the pod ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBoostRaisesAStartingPodsCPUThenResizesItBackOnceReady(t *testing.T) {
	c, cs := boostFixture(t, "1", func(d store.Deployment) []runtime.Object {
		return []runtime.Object{quota("4", "250m"), boostPod(d, "r1-a", "250m", time.Now(), false)}
	})
	waitCached(t, c, "r1-a", "250m")
	if again := c.boost(t.Context(), "ferry-a/r1-a"); again {
		t.Fatal("boost asked to retry")
	}
	waitCached(t, c, "r1-a", "1")
	c.boost(t.Context(), "ferry-a/r1-a") // already at its startup cpu: nothing
	setReady(t, c, cs, "r1-a")
	c.boost(t.Context(), "ferry-a/r1-a")
	waitCached(t, c, "r1-a", "250m")
	c.boost(t.Context(), "ferry-a/r1-a")
	if got := resizes(t, cs); len(got) != 2 || got[0] != "1" || got[1] != "250m" {
		t.Errorf("resizes: %v, want [1 250m]", got)
	}
}

func TestBoostStaysWithinWhatTheTenantsQuotaHasFree(t *testing.T) {
	// 3.5 of 4 CPUs used (the pod's 250m among them): 500m free, so the
	// pod gets 750m, not 1.
	c, cs := boostFixture(t, "1", func(d store.Deployment) []runtime.Object {
		return []runtime.Object{quota("4", "3500m"), boostPod(d, "r1-a", "250m", time.Now(), false)}
	})
	waitCached(t, c, "r1-a", "250m")
	c.boost(t.Context(), "ferry-a/r1-a")
	if got := resizes(t, cs); len(got) != 1 || got[0] != "750m" {
		t.Errorf("resizes: %v, want [750m]", got)
	}
}

func TestBoostIsSkippedWhenTheQuotaIsFullOrTheResizeIsRefused(t *testing.T) {
	c, cs := boostFixture(t, "1", func(d store.Deployment) []runtime.Object {
		return []runtime.Object{quota("4", "4"), boostPod(d, "r1-full", "250m", time.Now(), false),
			boostPod(d, "r1-refused", "250m", time.Now(), false)}
	})
	waitCached(t, c, "r1-full", "250m")
	waitCached(t, c, "r1-refused", "250m")
	for range 2 {
		if c.boost(t.Context(), "ferry-a/r1-full") {
			t.Error("a full quota is retried")
		}
	}
	if got := resizes(t, cs); len(got) != 0 {
		t.Fatalf("resizes with a full quota: %v", got)
	}
	// Room in the quota, but the API server refuses (quota admission,
	// or a cluster without in-place resize): the pod keeps its cpu and
	// is not tried again.
	if _, err := cs.CoreV1().ResourceQuotas("ferry-a").Update(t.Context(), quota("4", "500m"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	refused := 0
	cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "resize" {
			return false, nil, nil
		}
		refused++
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "r1-refused", errors.New("exceeded quota"))
	})
	for range 2 {
		if c.boost(t.Context(), "ferry-a/r1-refused") {
			t.Error("a refused boost is retried")
		}
	}
	if refused != 1 {
		t.Errorf("%d resize attempts of a refused boost, want 1", refused)
	}
}

func TestAFailedResizeBackIsRetried(t *testing.T) {
	c, cs := boostFixture(t, "1", func(d store.Deployment) []runtime.Object {
		return []runtime.Object{quota("4", "1"), boostPod(d, "r1-a", "1", time.Now().Add(-time.Second), true)}
	})
	waitCached(t, c, "r1-a", "1")
	cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd is slow"))
	})
	if !c.boost(t.Context(), "ferry-a/r1-a") {
		t.Fatal("a ready pod still at its startup cpu whose resize failed is not retried")
	}
}

func TestQueueBoostsFindsPodsWhoseCPUIsNotWhatItShouldBe(t *testing.T) {
	c, _ := boostFixture(t, "1", func(d store.Deployment) []runtime.Object {
		return []runtime.Object{boostPod(d, "r1-right", "1", time.Now(), false), boostPod(d, "r1-wrong", "1", time.Now().Add(-time.Second), true)}
	})
	waitCached(t, c, "r1-right", "1")
	waitCached(t, c, "r1-wrong", "1")
	// The cache's events queued both; empty the queue first.
	deadline := time.Now().Add(5 * time.Second)
	for c.boosts.queue.Len() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the pod events queued %d pods, want 2", c.boosts.queue.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 2 {
		k, _ := c.boosts.queue.Get()
		c.boosts.queue.Done(k)
	}
	c.queueBoosts()
	if n := c.boosts.queue.Len(); n != 1 {
		t.Fatalf("%d pods queued, want 1", n)
	}
	if k, _ := c.boosts.queue.Get(); k != "ferry-a/r1-wrong" {
		t.Errorf("queued %q, want the ready pod still at its startup cpu", k)
	}
}

func TestABoostIsAskedOnceWhileTheCacheHasNotSeenIt(t *testing.T) {
	c, cs := boostFixture(t, "1", func(d store.Deployment) []runtime.Object {
		return []runtime.Object{quota("4", "250m"), boostPod(d, "r1-a", "250m", time.Now(), false)}
	})
	waitCached(t, c, "r1-a", "250m")
	// The API server takes each resize, but the cache does not show it
	// yet (its watch event has not arrived).
	patches, lag := 0, true
	cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !lag || a.GetSubresource() != "resize" {
			return false, nil, nil
		}
		patches++
		p, err := c.podLister.Load().(podLister).Pods("ferry-a").Get("r1-a")
		return true, p, err
	})
	for range 3 {
		c.boost(t.Context(), "ferry-a/r1-a")
	}
	if patches != 1 {
		t.Errorf("%d resizes while the cache lags, want 1", patches)
	}
	// The cache catches up, the pod turns ready: the resize back is
	// asked for once too.
	lag = false
	p, _ := cs.CoreV1().Pods("ferry-a").Get(t.Context(), "r1-a", metav1.GetOptions{})
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
	if _, err := cs.CoreV1().Pods("ferry-a").Update(t.Context(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCached(t, c, "r1-a", "1")
	setReady(t, c, cs, "r1-a")
	lag = true
	for range 3 {
		c.boost(t.Context(), "ferry-a/r1-a")
	}
	if patches != 2 {
		t.Errorf("%d resizes in all, want 2 (up once, back once)", patches)
	}
}

func TestABoostedPodIsAnnotatedAndResizedBackFromItsAnnotationWithoutARoute(t *testing.T) {
	c, cs := boostFixture(t, "1", func(d store.Deployment) []runtime.Object {
		return []runtime.Object{quota("4", "250m"), boostPod(d, "r1-a", "250m", time.Now(), false)}
	})
	waitCached(t, c, "r1-a", "250m")
	c.boost(t.Context(), "ferry-a/r1-a")
	waitCached(t, c, "r1-a", "1")
	p, _ := c.podLister.Load().(podLister).Pods("ferry-a").Get("r1-a")
	if got := p.Annotations[CPUAnnotation]; got != "250m" {
		t.Fatalf("the boosted pod's %s annotation: %q, want 250m", CPUAnnotation, got)
	}
	// A restarted control plane whose pass for this deployment fails: no
	// route, and the pod never turns ready. The sweep finds it from its
	// annotation, and it goes back to 250m.
	c.routes.replace(map[revisionKey]routeTarget{}, nil)
	for c.boosts.queue.Len() > 0 {
		k, _ := c.boosts.queue.Get()
		c.boosts.queue.Done(k)
	}
	c.queueBoosts()
	if n := c.boosts.queue.Len(); n != 1 {
		t.Fatalf("the sweep queued %d pods, want the boosted one", n)
	}
	c.boost(t.Context(), "ferry-a/r1-a")
	waitCached(t, c, "r1-a", "250m")
	if got := resizes(t, cs); len(got) != 2 || got[1] != "250m" {
		t.Errorf("resizes: %v, want [1 250m]", got)
	}
}

func TestAClusterWithoutPodResizeIsAskedOncePerPod(t *testing.T) {
	c, cs := boostFixture(t, "1", func(d store.Deployment) []runtime.Object {
		return []runtime.Object{quota("4", "250m"), boostPod(d, "r1-a", "250m", time.Now(), false)}
	})
	waitCached(t, c, "r1-a", "250m")
	asked := 0
	cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "resize" {
			return false, nil, nil
		}
		asked++
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods/resize"}, "r1-a")
	})
	for range 3 {
		if c.boost(t.Context(), "ferry-a/r1-a") {
			t.Error("a missing pods/resize is retried")
		}
	}
	if asked != 1 {
		t.Errorf("%d resize attempts, want 1", asked)
	}
}

func TestABoostedPodGoesBackWhenItsDeploymentsBoostIsTurnedOff(t *testing.T) {
	c, cs := boostFixture(t, "", func(d store.Deployment) []runtime.Object {
		p := boostPod(d, "r1-a", "1", time.Now(), false)
		p.Annotations = map[string]string{CPUAnnotation: "250m"}
		return []runtime.Object{quota("4", "1"), p, boostPod(d, "r1-never", "250m", time.Now(), false)}
	})
	waitCached(t, c, "r1-a", "1")
	waitCached(t, c, "r1-never", "250m")
	c.boost(t.Context(), "ferry-a/r1-a")
	c.boost(t.Context(), "ferry-a/r1-never")
	if got := resizes(t, cs); len(got) != 1 || got[0] != "250m" {
		t.Errorf("resizes: %v, want [250m] (the boosted pod back, the other left alone)", got)
	}
}
