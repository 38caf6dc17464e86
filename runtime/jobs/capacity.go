package jobs

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Capacity is the nodes' free resources, and it fills the tenants' usage:
// every pod that has not ended holds its requests on its node and against
// its tenant (a pod with the tenant label in the tenant's namespace: a
// job's replica or a pipeline step); replicas of admitted jobs without a
// pod yet are reserved too. Unschedulable, unready and tainted nodes are
// left out. The jobs controller and the pipelines engine both admit from
// it, over the same caches.
func Capacity(nodeList []*corev1.Node, pods []*corev1.Pod, usage map[string]Usage, active []store.Job) []Node {
	free := map[string]corev1.ResourceList{}
	alloc := map[string]corev1.ResourceList{}
	var nodes []Node
	for _, n := range nodeList {
		if n.Spec.Unschedulable || !nodeReady(n) || tainted(n) {
			continue
		}
		free[n.Name] = n.Status.Allocatable.DeepCopy()
		alloc[n.Name] = n.Status.Allocatable.DeepCopy()
	}
	podsOf := map[string]int32{}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		req := podRequests(p)
		if f, ok := free[p.Spec.NodeName]; ok {
			sub(f, req)
		}
		if t := p.Labels[tenants.TenantLabel]; t != "" && p.Namespace == tenants.Namespace(t) {
			if u, ok := usage[t]; ok {
				add(u.Used, req)
			}
			if name := p.Labels[JobLabel]; name != "" {
				podsOf[t+"/"+name]++
			}
		}
	}
	for name, f := range free {
		nodes = append(nodes, Node{Name: name, Free: f, Allocatable: alloc[name]})
	}
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	for _, j := range active {
		if j.State != store.JobRunning {
			continue
		}
		missing := j.Spec.Replicas - podsOf[j.Tenant+"/"+j.Name]
		if missing <= 0 {
			continue
		}
		req, err := Requests(j.Spec.Resources)
		if err != nil {
			continue
		}
		if u, ok := usage[j.Tenant]; ok {
			for range missing {
				add(u.Used, req)
			}
		}
		if placed, ok := place(nodes, req, int(missing)); ok {
			nodes = placed
		}
	}
	return nodes
}
