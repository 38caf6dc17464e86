package serving

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/ferry-ml/ferry/runtime/tenants"
)

// Start-up CPU boost. A revision's pod is made with its declared CPU (the
// Deployment's template never changes for it). As soon as the pod cache
// shows the kubelet admitted it (see wantCPU), usually while its init
// container runs, the pod is annotated with its declared CPU and resized in place (the pods/resize subresource,
// requests and limits together, so a Guaranteed pod stays Guaranteed) to
// the deployment's startup CPU, within what the tenant's quota has free.
// Once it is ready, or MaxBoost after it was made, it is resized back to
// its declared CPU. The sklearn runtime's start is Python imports, which
// at a quarter of a CPU take four times as long as at one. The resize goes
// through the API server's quota admission and the kubelet's own
// admission: a boost either of them refuses or defers costs nothing, the
// pod just starts at its declared CPU.
const (
	// DefaultStartupCPU is the sklearn runtime's startup CPU unless the
	// deployment says otherwise (clamped to the tenant's cpu quota).
	DefaultStartupCPU = "1"
	// MaxBoost is how long a pod that never turns ready keeps its startup
	// CPU.
	MaxBoost = 2 * time.Minute
	// ModelContainer is a revision pod's serving container.
	ModelContainer = "model"
	// CPUAnnotation is a boosted pod's declared CPU, written before the
	// boost, so that the pod is resized back from what it says alone (after
	// a restart, or when its deployment's pass fails).
	CPUAnnotation = "ferry.io/cpu"
	// DeferredGrace is how long a boost the kubelet defers (the node has no
	// room now) is left asking before the pod is resized back.
	DeferredGrace = 3 * time.Second
)

// boosts is the resize work: pod keys ("namespace/name") from the pod
// cache's events and each pass, handled by one worker.
type boosts struct {
	queue workqueue.TypedRateLimitingInterface[string]
	mu    sync.Mutex
	// done are the pods whose boost is over (resized back, or refused):
	// they are not boosted again, even if they turn unready.
	done map[types.UID]bool
	// asked is the CPU each pod was last resized to (before the quota
	// clamp): until the cache shows the resize, a pod's events find its
	// old CPU, and asking again would log a second boost, or clamp it
	// against a quota the first one already uses.
	asked map[types.UID]string
}

func newBoosts() *boosts {
	return &boosts{queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "serving-boost"}), done: map[types.UID]bool{}, asked: map[types.UID]string{}}
}

func (b *boosts) isDone(uid types.UID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done[uid]
}

func (b *boosts) setDone(uid types.UID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done[uid] = true
}

func (b *boosts) lastAsked(uid types.UID) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.asked[uid]
}

func (b *boosts) setAsked(uid types.UID, cpu string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asked[uid] = cpu
}

// forget drops a deleted pod's state.
func (b *boosts) forget(uid types.UID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.done, uid)
	delete(b.asked, uid)
}

// podOfRevision says whether p is a revision's pod in a tenant namespace.
func podOfRevision(p *corev1.Pod) (revisionKey, bool) {
	l := p.Labels
	k := revisionKey{l[tenants.TenantLabel], l[DeploymentLabel], l[RevisionLabel]}
	ok := l[tenants.ManagedByLabel] == tenants.ManagedBy && k.tenant != "" && k.deployment != "" && k.revision != "" &&
		p.Namespace == tenants.Namespace(k.tenant)
	return k, ok
}

// podHandler queues the revision pods the cache reports.
func (c *Controller) podHandler() cache.ResourceEventHandler {
	add := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok {
			if _, ok := podOfRevision(p); ok {
				c.boosts.queue.Add(p.Namespace + "/" + p.Name)
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				c.boosts.forget(p.UID)
			}
		},
	}
}

// podCPU is the CPU request of p's model container (zero when it has none).
func podCPU(p *corev1.Pod) (resource.Quantity, bool) {
	for _, ct := range p.Spec.Containers {
		if ct.Name == ModelContainer {
			return ct.Resources.Requests[corev1.ResourceCPU], true
		}
	}
	return resource.Quantity{}, false
}

// wantCPU is the CPU p's model container should have at now: the startup
// CPU while it starts (not ready, younger than MaxBoost, its boost not
// over, not refused by the kubelet), its declared CPU after. ok is false
// when ferry does not resize p: its revision has no boost, the kubelet has
// not admitted it yet, or it is being deleted or has ended.
//
// Only a pod the kubelet has admitted (status.startTime set) is boosted:
// the scheduler placed it by its declared CPU, and the kubelet admits a
// pod by the resources its spec has when the kubelet first sees it, so a
// boost before that could have it admitted at the startup CPU on a node
// filled at the declared one (and fail, OutOfcpu, or push another pod out).
// After admission a resize the node has no room for is one the kubelet
// defers or refuses (the PodResizePending condition): the pod goes on at
// its declared CPU, and is resized back to it at once when Infeasible,
// after DeferredGrace when Deferred, so that no quota stays taken by a
// boost that does not run.
func wantCPU(p *corev1.Pod, t routeTarget, done bool, now time.Time) (want resource.Quantity, ok bool) {
	if t.startup.Cmp(t.cpu) <= 0 || !alive(p) {
		return t.cpu, false
	}
	if done || ready(p) || now.Sub(p.CreationTimestamp.Time) >= MaxBoost || resizeRefused(p, now) {
		return t.cpu, true
	}
	if p.Status.StartTime == nil {
		return t.cpu, false
	}
	return t.startup, true
}

// alive says whether p is neither being deleted nor ended.
func alive(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// resizeRefused says whether the kubelet will not apply p's resize: it is
// Infeasible, or Deferred for DeferredGrace.
func resizeRefused(p *corev1.Pod, now time.Time) bool {
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.PodResizePending || c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Reason {
		case corev1.PodReasonInfeasible:
			return true
		case corev1.PodReasonDeferred:
			return now.Sub(c.LastTransitionTime.Time) >= DeferredGrace
		}
	}
	return false
}

// declaredCPU is the CPU a boosted pod's annotation says it was made with.
func declaredCPU(p *corev1.Pod) (resource.Quantity, bool) {
	v, ok := p.Annotations[CPUAnnotation]
	if !ok {
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(v)
	return q, err == nil
}

// resizeCPU is the pods/resize patch giving the model container cpu as its
// request and limit.
func resizeCPU(cpu resource.Quantity) []byte {
	q := cpu.String()
	b, _ := json.Marshal(map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
		"name": ModelContainer, "resources": map[string]any{
			"requests": map[string]string{"cpu": q}, "limits": map[string]string{"cpu": q}}}}}})
	return b
}

// freeCPU is the CPU the tenant's quota has free in ns (requests and
// limits, the smaller), or ok false when the quota cannot be read.
func (c *Controller) freeCPU(ctx context.Context, ns string) (resource.Quantity, bool) {
	q, err := c.Client.CoreV1().ResourceQuotas(ns).Get(ctx, tenants.QuotaName, metav1.GetOptions{})
	if err != nil {
		return resource.Quantity{}, false
	}
	var free resource.Quantity
	for i, name := range []corev1.ResourceName{corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU} {
		hard, ok := q.Status.Hard[name]
		if !ok {
			hard, ok = q.Spec.Hard[name]
		}
		if !ok {
			continue
		}
		used := q.Status.Used[name]
		hard.Sub(used)
		if i == 0 || hard.Cmp(free) < 0 {
			free = hard
		}
	}
	return free, true
}

// runBoosts handles queued pods until ctx ends.
func (c *Controller) runBoosts(ctx context.Context) {
	go func() {
		<-ctx.Done()
		c.boosts.queue.ShutDown()
	}()
	for {
		key, quit := c.boosts.queue.Get()
		if quit {
			return
		}
		if c.boost(ctx, key) {
			c.boosts.queue.AddRateLimited(key)
		} else {
			c.boosts.queue.Forget(key)
		}
		c.boosts.queue.Done(key)
	}
}

// boost resizes one pod if it needs it, and says whether to try again (an
// error worth retrying). A boosted pod's MaxBoost is seen by a pass
// (queueBoosts).
func (c *Controller) boost(ctx context.Context, key string) (again bool) {
	l, ok := c.podLister.Load().(podLister)
	if !ok {
		return false
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	p, err := l.Pods(ns).Get(name)
	if err != nil {
		return false
	}
	k, ok := podOfRevision(p)
	if !ok {
		return false
	}
	now := c.Now()
	var want resource.Quantity
	t, routed := c.routes.get(k)
	if routed {
		want, ok = wantCPU(p, t, c.boosts.isDone(p.UID), now)
	}
	if !routed || (!ok && t.startup.Cmp(t.cpu) <= 0) {
		// Not applied by this process (yet, or its pass fails), or its
		// boost turned off: a pod boosted earlier goes back to the CPU its
		// annotation says; one never boosted is left as it is.
		want, ok = declaredCPU(p)
		ok = ok && alive(p)
	}
	have, has := podCPU(p)
	if !ok || !has || want.Cmp(have) == 0 || c.boosts.lastAsked(p.UID) == want.String() {
		return false
	}
	target := want.String()
	up := want.Cmp(have) > 0
	if up {
		if free, known := c.freeCPU(ctx, ns); known {
			most := have.DeepCopy()
			most.Add(free)
			if most.Cmp(want) < 0 {
				want = most
			}
		}
		if want.Cmp(have) <= 0 {
			c.boosts.setDone(p.UID)
			c.Log.Info("startup cpu: no boost, the tenant's cpu quota has no room", "pod", key, "cpu", have.String())
			return false
		}
	}
	if up && p.Annotations[CPUAnnotation] != have.String() {
		// The declared CPU on the pod first: whatever happens to this
		// process or the deployment's passes, the pod says what to go back to.
		mark, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{CPUAnnotation: have.String()}}})
		if _, err := c.Client.CoreV1().Pods(ns).Patch(ctx, name, types.MergePatchType, mark, metav1.PatchOptions{FieldManager: tenants.FieldManager}); err != nil {
			c.boosts.setDone(p.UID)
			c.Log.Info("startup cpu: no boost, the pod could not be annotated", "pod", key, "err", err)
			return false
		}
	}
	_, err = c.Client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, resizeCPU(want), metav1.PatchOptions{FieldManager: tenants.FieldManager}, "resize")
	switch {
	case err == nil:
		c.boosts.setAsked(p.UID, target)
	case apierrors.IsNotFound(err):
		// The pod is gone, or the cluster has no pods/resize (in-place
		// resize is Kubernetes 1.33 and later): either way, not again.
		c.boosts.setDone(p.UID)
		c.Log.Info("startup cpu: no resize, pods/resize not found (the pod is gone, or the cluster has no in-place resize)", "pod", key, "err", err)
		return false
	case up && (apierrors.IsForbidden(err) || apierrors.IsInvalid(err)):
		// Quota or validation refused the boost: the pod keeps its CPU.
		c.boosts.setDone(p.UID)
		c.Log.Info("startup cpu: boost refused", "pod", key, "cpu", want.String(), "err", err)
		return false
	default:
		// A resize back that fails is retried: a pod must not keep a boost.
		c.Log.Warn("startup cpu: resize failed", "pod", key, "cpu", want.String(), "err", err)
		return true
	}
	age := now.Sub(p.CreationTimestamp.Time).Round(time.Millisecond).String()
	if up {
		c.Log.Info("startup cpu: pod boosted", "pod", key, "from", have.String(), "to", want.String(), "podAge", age)
		return false
	}
	c.boosts.setDone(p.UID)
	c.Log.Info("startup cpu: pod resized to its cpu", "pod", key, "from", have.String(), "to", want.String(), "ready", ready(p), "podAge", age)
	return false
}

// revisionPods selects the pods of ferry's revisions (podOfRevision checks
// the rest), so a pass's sweep does not walk every job and notebook pod.
var revisionPods = func() k8slabels.Selector {
	managed, _ := k8slabels.NewRequirement(tenants.ManagedByLabel, selection.Equals, []string{tenants.ManagedBy})
	dep, _ := k8slabels.NewRequirement(DeploymentLabel, selection.Exists, nil)
	rev, _ := k8slabels.NewRequirement(RevisionLabel, selection.Exists, nil)
	return k8slabels.NewSelector().Add(*managed, *dep, *rev)
}()

// queueBoosts queues the pods of applied revisions with a boost whose CPU
// is not what it should be (after a restart, or a missed event), and the
// boosted pods of revisions no pass applied whose CPU is not the one their
// annotation declares.
func (c *Controller) queueBoosts() {
	l, ok := c.podLister.Load().(podLister)
	if !ok || c.boosts == nil {
		return
	}
	now := c.Now()
	if all, err := l.List(revisionPods); err == nil {
		for _, p := range all {
			declared, ok := declaredCPU(p)
			if !ok || !alive(p) {
				continue
			}
			k, ok := podOfRevision(p)
			if !ok {
				continue
			}
			if t, routed := c.routes.get(k); routed && t.startup.Cmp(t.cpu) > 0 {
				continue // the revision's own loop below
			}
			if have, has := podCPU(p); has && have.Cmp(declared) != 0 {
				c.boosts.queue.Add(p.Namespace + "/" + p.Name)
			}
		}
	}
	c.routes.mu.RLock()
	defer c.routes.mu.RUnlock()
	for k, t := range c.routes.revs {
		if t.startup.Cmp(t.cpu) <= 0 {
			continue
		}
		pods, err := l.Pods(tenants.Namespace(k.tenant)).List(t.selector)
		if err != nil {
			continue
		}
		for _, p := range pods {
			want, ok := wantCPU(p, t, c.boosts.isDone(p.UID), now)
			if have, has := podCPU(p); ok && has && want.Cmp(have) != 0 {
				c.boosts.queue.Add(p.Namespace + "/" + p.Name)
			}
		}
	}
}
