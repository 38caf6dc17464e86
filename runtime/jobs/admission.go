package jobs

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Node is a node's resources free for new pods: allocatable minus the
// requests of the pods on it that have not ended.
type Node struct {
	Name string
	Free corev1.ResourceList
	// Allocatable is all the node offers pods (nil: unknown, not judged).
	Allocatable corev1.ResourceList
}

// Usage is what a tenant's running work holds against its quota.
type Usage struct {
	Quota store.Quota
	Used  corev1.ResourceList
}

// Decision is admission's verdict on one queued job.
type Decision struct {
	JobID int64
	Admit bool
	// Inadmissible: the job can never run as asked (more than its tenant's
	// whole quota, or a replica larger than any node); it stays queued
	// without holding back the tenant's later jobs. Reason then starts with
	// v1.JobReasonInadmissible.
	Inadmissible bool
	Reason       string
}

// Admit decides, for the queued jobs in submission order, which start now.
// A job starts only when every replica fits: the tenant's quota holds all
// of them, and the nodes' free resources take each replica somewhere
// (first fit, largest-free first). A job that does not fit holds back the
// tenant's later jobs (first come, first served within a tenant); other
// tenants go on. What an admitted job takes is no longer free for the next.
func Admit(queued []store.Job, usage map[string]Usage, nodes []Node) []Decision {
	free := make([]Node, len(nodes))
	for i, n := range nodes {
		free[i] = Node{Name: n.Name, Free: n.Free.DeepCopy()}
	}
	used := map[string]corev1.ResourceList{}
	for t, u := range usage {
		used[t] = u.Used.DeepCopy()
	}
	blocked := map[string]string{} // tenant → the job holding its queue
	var out []Decision
	for _, j := range queued {
		req, err := Requests(j.Spec.Resources)
		if err != nil {
			out = append(out, Decision{JobID: j.ID, Inadmissible: true, Reason: v1.JobReasonInadmissible + "invalid resources: " + err.Error()})
			continue
		}
		if why := inadmissible(usage, nodes, j, req); why != "" {
			out = append(out, Decision{JobID: j.ID, Inadmissible: true, Reason: v1.JobReasonInadmissible + why})
			continue
		}
		if head, ok := blocked[j.Tenant]; ok {
			out = append(out, Decision{JobID: j.ID, Reason: "queued behind job " + head + " (submitted earlier)"})
			continue
		}
		u, ok := usage[j.Tenant]
		if !ok {
			blocked[j.Tenant] = j.Name
			out = append(out, Decision{JobID: j.ID, Reason: "tenant " + j.Tenant + " is unknown"})
			continue
		}
		if reason := overQuota(u.Quota, used[j.Tenant], req, j.Spec.Replicas); reason != "" {
			blocked[j.Tenant] = j.Name
			out = append(out, Decision{JobID: j.ID, Reason: reason})
			continue
		}
		placed, ok := place(free, req, int(j.Spec.Replicas))
		if !ok {
			blocked[j.Tenant] = j.Name
			out = append(out, Decision{JobID: j.ID, Reason: fmt.Sprintf("cluster capacity: %d replica(s) of %s do not all fit on the nodes' free resources", j.Spec.Replicas, describe(req))})
			continue
		}
		free = placed
		if used[j.Tenant] == nil {
			used[j.Tenant] = corev1.ResourceList{}
		}
		for name, q := range req {
			total := used[j.Tenant][name]
			for range j.Spec.Replicas {
				total.Add(q)
			}
			used[j.Tenant][name] = total
		}
		out = append(out, Decision{JobID: j.ID, Admit: true})
	}
	return out
}

// inadmissible says why a job can never run as asked ("" when it may):
// all its replicas together exceed the tenant's whole quota, or one
// replica is larger than every node's allocatable (judged only when the
// nodes' allocatable is known and there is at least one node).
func inadmissible(usage map[string]Usage, nodes []Node, j store.Job, req corev1.ResourceList) string {
	if u, ok := usage[j.Tenant]; ok {
		if reason := overQuota(u.Quota, nil, req, j.Spec.Replicas); reason != "" {
			return "more than the whole " + reason + " (lower the request or raise the quota)"
		}
	}
	known := false
	for _, n := range nodes {
		if n.Allocatable == nil {
			continue
		}
		known = true
		if fits(n.Allocatable, req) {
			return ""
		}
	}
	if !known {
		return ""
	}
	return fmt.Sprintf("one replica (%s) is larger than any node offers", describe(req))
}

// overQuota says why replicas × req do not fit the quota next to used.
func overQuota(q store.Quota, used, req corev1.ResourceList, replicas int32) string {
	hard := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(orZero(q.CPU)), corev1.ResourceMemory: resource.MustParse(orZero(q.Memory)),
		tenants.GPUResource: *resource.NewQuantity(q.GPU, resource.DecimalSI)}
	var short []string
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, tenants.GPUResource} {
		need, ok := req[name]
		if !ok || need.IsZero() {
			continue
		}
		total := resource.Quantity{}
		for range replicas {
			total.Add(need)
		}
		u := used[name]
		room := hard[name].DeepCopy()
		room.Sub(u)
		if total.Cmp(room) > 0 {
			if room.Sign() < 0 {
				room = resource.Quantity{}
			}
			short = append(short, fmt.Sprintf("needs %s %s, %s of %s free", total.String(), name, room.String(), hardOf(hard, name)))
		}
	}
	if len(short) == 0 {
		return ""
	}
	return "tenant quota: " + strings.Join(short, "; ")
}

func hardOf(hard corev1.ResourceList, name corev1.ResourceName) string {
	q := hard[name]
	return q.String()
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// place puts n replicas of req on the nodes, each on the node with the
// most free of the scarcest resource that takes it, and returns the nodes
// with what is left, or false when some replica fits nowhere.
func place(nodes []Node, req corev1.ResourceList, n int) ([]Node, bool) {
	left := make([]Node, len(nodes))
	for i, nd := range nodes {
		left[i] = Node{Name: nd.Name, Free: nd.Free.DeepCopy()}
	}
	for range n {
		best := -1
		for i, nd := range left {
			if !fits(nd.Free, req) {
				continue
			}
			if best < 0 || more(nd.Free, left[best].Free, req) {
				best = i
			}
		}
		if best < 0 {
			return nodes, false
		}
		for name, q := range req {
			f := left[best].Free[name]
			f.Sub(q)
			left[best].Free[name] = f
		}
	}
	return left, true
}

func fits(free, req corev1.ResourceList) bool {
	for name, q := range req {
		f, ok := free[name]
		if q.IsZero() {
			continue
		}
		if !ok || f.Cmp(q) < 0 {
			return false
		}
	}
	return true
}

// more says whether a has more room than b for req (compared on each
// requested resource, GPUs first).
func more(a, b, req corev1.ResourceList) bool {
	names := make([]corev1.ResourceName, 0, len(req))
	for name := range req {
		names = append(names, name)
	}
	slices.SortFunc(names, func(x, y corev1.ResourceName) int {
		if x == tenants.GPUResource {
			return -1
		}
		if y == tenants.GPUResource {
			return 1
		}
		return strings.Compare(string(x), string(y))
	})
	for _, name := range names {
		qa, qb := a[name], b[name]
		if c := qa.Cmp(qb); c != 0 {
			return c > 0
		}
	}
	return false
}

func describe(req corev1.ResourceList) string {
	var parts []string
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, tenants.GPUResource} {
		if q, ok := req[name]; ok {
			parts = append(parts, string(name)+" "+q.String())
		}
	}
	return strings.Join(parts, ", ")
}
