package pipelines

// Where a pass reads the cluster from: the shared informer's caches of
// pods and nodes once the engine is started (events about step pods poke
// the loop, so a step's end is seen at once), and the pods the engine has
// just made that the cache may not show yet. An engine that was not
// started (a one-shot Sync) lists from the API server instead.

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-ml/ferry/runtime/tenants"
)

// madeFor bounds how long a pod the engine made stands in for the cache:
// past it a pod the cache never showed is taken for gone.
const madeFor = time.Minute

// informerResync is the full resync of an informer the engine makes itself.
const informerResync = 10 * time.Minute

// watch takes the pod and node informers of f, pokes the loop on events
// about step pods (and on tenant pods that end or go, which free quota a
// waiting step may need), and says when their caches are synced.
func (e *Engine) watch(f informers.SharedInformerFactory) ([]cache.InformerSynced, error) {
	pods, nodes := f.Core().V1().Pods(), f.Core().V1().Nodes()
	h := cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok && isStepPod(p) {
				e.made.seen(p)
				e.Poke()
			}
		},
		UpdateFunc: func(old, obj any) {
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return
			}
			if isStepPod(p) {
				e.made.seen(p)
				e.Poke()
			} else if was, ok := old.(*corev1.Pod); ok && isTenantPod(p) && !podEnded(was) && podEnded(p) {
				e.Poke()
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok && (isStepPod(p) || isTenantPod(p)) {
				e.Poke()
			}
		},
	}
	if _, err := pods.Informer().AddEventHandler(h); err != nil {
		return nil, fmt.Errorf("pipelines: watch pods: %w", err)
	}
	e.pods, e.nodes = pods.Lister(), nodes.Lister()
	return []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced}, nil
}

func isStepPod(p *corev1.Pod) bool { _, ok := p.Labels[RunLabel]; return ok }

func isTenantPod(p *corev1.Pod) bool {
	t := p.Labels[tenants.TenantLabel]
	return t != "" && p.Namespace == tenants.Namespace(t)
}

// cluster is what a pass knows of the cluster: the step pods by
// namespace/name, every pod (for the tenants' usage and the nodes' room)
// and the nodes (nil when not known).
type cluster struct {
	steps map[string]*corev1.Pod
	all   []*corev1.Pod
	nodes []*corev1.Node
}

// readCluster reads the pods and nodes from the informers' caches, with
// the pods the engine made that the cache does not show yet; an engine
// not started lists every pod from the API server and knows no nodes.
func (e *Engine) readCluster(ctx context.Context) (cluster, error) {
	var c cluster
	if e.pods == nil {
		list, err := e.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return c, fmt.Errorf("list pods: %w", err)
		}
		c.all = make([]*corev1.Pod, len(list.Items))
		for i := range list.Items {
			c.all[i] = &list.Items[i]
		}
	} else {
		var err error
		if c.all, err = e.pods.List(labels.Everything()); err != nil {
			return c, fmt.Errorf("list pods: %w", err)
		}
		if c.nodes, err = e.nodes.List(labels.Everything()); err != nil {
			return c, fmt.Errorf("list nodes: %w", err)
		}
	}
	c.steps = map[string]*corev1.Pod{}
	for _, p := range c.all {
		if isStepPod(p) {
			c.steps[p.Namespace+"/"+p.Name] = p
		}
	}
	for _, p := range e.made.missing(c.steps, e.Now()) {
		c.steps[p.Namespace+"/"+p.Name] = p
		c.all = append(c.all, p)
	}
	return c, nil
}

// made is the step pods the engine created lately, until the cache shows
// them (the same pod: same UID) or madeFor has passed: a pass right after
// a create must not take its pod for gone and start the step again.
type made struct {
	mu   sync.Mutex
	pods map[string]madePod // namespace/name →
}

type madePod struct {
	pod *corev1.Pod
	at  time.Time
}

func newMade() *made { return &made{pods: map[string]madePod{}} }

// add records a pod just created (as the API server answered it), unless
// the cache shows it already.
func (m *made) add(p *corev1.Pod, at time.Time, cached func(ns, name string) (*corev1.Pod, bool)) {
	key := p.Namespace + "/" + p.Name
	m.mu.Lock()
	m.pods[key] = madePod{pod: p, at: at}
	m.mu.Unlock()
	// The informer may have seen it before it was recorded.
	if c, ok := cached(p.Namespace, p.Name); ok {
		m.seen(c)
	}
}

// seen drops a made pod the cache now shows.
func (m *made) seen(p *corev1.Pod) {
	m.drop(p.Namespace+"/"+p.Name, p.UID)
}

// forget drops a made pod whatever its UID (the engine deleted it).
func (m *made) forget(ns, name string) {
	m.mu.Lock()
	delete(m.pods, ns+"/"+name)
	m.mu.Unlock()
}

func (m *made) drop(key string, uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mp, ok := m.pods[key]; ok && mp.pod.UID == uid {
		delete(m.pods, key)
	}
}

// missing is the made pods that cached (namespace/name → pod) lacks or
// holds only an older pod of; those it shows, and those made more than
// madeFor before now, are dropped.
func (m *made) missing(cached map[string]*corev1.Pod, now time.Time) []*corev1.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*corev1.Pod
	for key, mp := range m.pods {
		if c, ok := cached[key]; (ok && c.UID == mp.pod.UID) || now.Sub(mp.at) > madeFor {
			delete(m.pods, key)
			continue
		}
		out = append(out, mp.pod)
	}
	return out
}
