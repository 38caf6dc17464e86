package serving

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// maxEndpoints bounds the pod addresses one revision puts in the routing
// table (a revision's replicas are bounded by its max, which is smaller).
const maxEndpoints = 100

// routable is what a pass applied: the revisions whose objects are ferry's,
// in a namespace ferry owns for the tenant, and the port their pods serve
// on. Only their pods are ever offered to the gateway.
type routable struct {
	mu   sync.RWMutex
	revs map[revisionKey]routeTarget
}

type routeTarget struct {
	selector k8slabels.Selector
	port     int32
	// cpu and startup are the revision's declared and startup CPU (see
	// boost.go; startup not above cpu: no boost).
	cpu, startup resource.Quantity
}

func (r *routable) get(k revisionKey) (routeTarget, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.revs[k]
	return t, ok
}

// replace swaps in a pass's revisions; those of deployments whose pass
// failed (kept) stay as they were, so their endpoints do not flap.
func (r *routable) replace(next map[revisionKey]routeTarget, kept map[[2]string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, t := range r.revs {
		if kept[[2]string{k.tenant, k.deployment}] {
			if _, ok := next[k]; !ok {
				next[k] = t
			}
		}
	}
	r.revs = next
}

func target(d store.Deployment, r store.Revision, spec v1.DeploymentSpec) routeTarget {
	t := routeTarget{selector: k8slabels.SelectorFromSet(labels(d, r)), port: spec.Port}
	t.cpu, _ = resource.ParseQuantity(spec.Resources.CPU)
	if spec.StartupCPU != "" {
		t.startup, _ = resource.ParseQuantity(spec.StartupCPU)
	}
	return t
}

// watchPods starts reading pods from f (a factory shared with the other
// controllers, or one of the controller's own), for Endpoints.
func (c *Controller) watchPods(ctx context.Context, f informers.SharedInformerFactory) cache.InformerSynced {
	pods := f.Core().V1().Pods()
	inf := pods.Informer()
	if c.boosts != nil {
		if _, err := inf.AddEventHandler(c.podHandler()); err != nil {
			c.Log.Warn("startup cpu: no pod events", "err", err)
		}
	}
	c.podLister.Store(podLister{pods.Lister()})
	f.Start(ctx.Done())
	return inf.HasSynced
}

type podLister struct{ listerscorev1.PodLister }

// Endpoints are the base URLs (http://IP:port) of a live revision's ready
// pods, read from the pod cache, sorted. The gateway sends to them
// directly: a pod that turns ready answers within the gateway's next table
// refresh, without waiting for the Deployment's status, a controller pass,
// the EndpointSlice and kube-proxy. Nil when the pods are not known (no
// pod cache yet, or a revision this process has not applied): the gateway
// then uses the revision's Service.
func (c *Controller) Endpoints(tenant, deployment, revision string) []string {
	return c.podURLs(tenant, deployment, revision, ready)
}

// Starting are the base URLs of a live revision's pods that run but are
// not ready yet, sorted, under the same rules as Endpoints. While requests
// wait for a revision at zero, the gateway probes them itself (their
// readiness path, every 100 ms) and sends to the first that answers,
// instead of waiting for the kubelet's next probe and the status it
// writes to reach the table.
func (c *Controller) Starting(tenant, deployment, revision string) []string {
	return c.podURLs(tenant, deployment, revision, starting)
}

func (c *Controller) podURLs(tenant, deployment, revision string, want func(*corev1.Pod) bool) []string {
	l, ok := c.podLister.Load().(podLister)
	if !ok {
		return nil
	}
	t, ok := c.routes.get(revisionKey{tenant, deployment, revision})
	if !ok {
		return nil
	}
	pods, err := l.Pods(tenants.Namespace(tenant)).List(t.selector)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range pods {
		if want(p) && len(out) < maxEndpoints {
			out = append(out, fmt.Sprintf("http://%s", net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(t.port)))))
		}
	}
	sort.Strings(out)
	return out
}

// starting is a running pod with an address, not being deleted, that does
// not pass its readiness probe yet.
func starting(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.PodIP != "" && p.Status.Phase == corev1.PodRunning && !ready(p)
}

// ready is a running pod that passes its readiness probe and is not being
// deleted (a terminating pod leaves the table before it stops answering).
func ready(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.PodIP == "" || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
