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
	q := NewQueue(usage, nodes)
	out := make([]Decision, 0, len(queued))
	for _, j := range queued {
		d := q.Admit(Request{Tenant: j.Tenant, Kind: "job", Name: j.Name, Resources: j.Spec.Resources, Replicas: j.Spec.Replicas})
		d.JobID = j.ID
		out = append(out, d)
	}
	return out
}

// Request is what a Queue admits: Replicas pods of Resources each, for a
// tenant, all or none.
type Request struct {
	Tenant string
	// Kind and Name say what asks, for the reasons ("job", "train"; "step",
	// "train[1] of run 7f3c…").
	Kind, Name string
	Resources  store.Resources
	Replicas   int32
}

// Queue is admission one request at a time, in arrival order: what Admit
// decides for a list of jobs, for a caller that meets its requests as it
// goes (the pipelines engine's steps). What it admits is taken from the
// tenant's quota and the nodes' free resources for the requests after it.
type Queue struct {
	// QuotaOnlyWithoutNodes admits on the quota alone when no node is
	// known (a lone pod the scheduler places or queues; a job's replicas,
	// a gang, always need room on the nodes).
	QuotaOnlyWithoutNodes bool

	usage   map[string]Usage
	nodes   []Node
	free    []Node
	used    map[string]corev1.ResourceList
	blocked map[string]string // tenant → what holds its queue
}

// NewQueue starts admission from the tenants' usage and the nodes' free
// resources (neither is changed).
func NewQueue(usage map[string]Usage, nodes []Node) *Queue {
	q := &Queue{usage: usage, nodes: nodes, free: make([]Node, len(nodes)), used: map[string]corev1.ResourceList{}, blocked: map[string]string{}}
	for i, n := range nodes {
		q.free[i] = Node{Name: n.Name, Free: n.Free.DeepCopy()}
	}
	for t, u := range usage {
		q.used[t] = u.Used.DeepCopy()
	}
	return q
}

// Admit decides one request (JobID left zero): admitted, waiting with a
// reason, or inadmissible.
func (q *Queue) Admit(r Request) Decision {
	req, err := Requests(r.Resources)
	if err != nil {
		return Decision{Inadmissible: true, Reason: v1.JobReasonInadmissible + "invalid resources: " + err.Error()}
	}
	if why := inadmissible(q.usage, q.nodes, r, req); why != "" {
		return Decision{Inadmissible: true, Reason: v1.JobReasonInadmissible + why}
	}
	if head, ok := q.blocked[r.Tenant]; ok {
		return Decision{Reason: "queued behind " + head + " (submitted earlier)"}
	}
	u, ok := q.usage[r.Tenant]
	if !ok {
		q.blocked[r.Tenant] = r.Kind + " " + r.Name
		return Decision{Reason: "tenant " + r.Tenant + " is unknown"}
	}
	if reason := overQuota(u.Quota, q.used[r.Tenant], req, r.Replicas); reason != "" {
		q.blocked[r.Tenant] = r.Kind + " " + r.Name
		return Decision{Reason: reason}
	}
	if len(q.free) > 0 || !q.QuotaOnlyWithoutNodes {
		placed, ok := place(q.free, req, int(r.Replicas))
		if !ok {
			q.blocked[r.Tenant] = r.Kind + " " + r.Name
			what := fmt.Sprintf("%d replica(s) of %s do not all fit", r.Replicas, describe(req))
			if r.Kind != "job" && r.Replicas == 1 {
				what = fmt.Sprintf("the %s's pod (%s) does not fit", r.Kind, describe(req))
			}
			return Decision{Reason: "cluster capacity: " + what + " on the nodes' free resources"}
		}
		q.free = placed
	}
	if q.used[r.Tenant] == nil {
		q.used[r.Tenant] = corev1.ResourceList{}
	}
	for name, n := range req {
		total := q.used[r.Tenant][name]
		for range r.Replicas {
			total.Add(n)
		}
		q.used[r.Tenant][name] = total
	}
	return Decision{Admit: true}
}

// inadmissible says why a request can never run as asked ("" when it
// may): all its replicas together exceed the tenant's whole quota, or one
// replica is larger than every node's allocatable (judged only when the
// nodes' allocatable is known and there is at least one node).
func inadmissible(usage map[string]Usage, nodes []Node, r Request, req corev1.ResourceList) string {
	if u, ok := usage[r.Tenant]; ok {
		if reason := overQuota(u.Quota, nil, req, r.Replicas); reason != "" {
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
	if r.Kind != "job" && r.Replicas == 1 {
		return fmt.Sprintf("the %s's pod (%s) is larger than any node offers", r.Kind, describe(req))
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
// with what is left (their allocatable kept), or false when some replica
// fits nowhere.
func place(nodes []Node, req corev1.ResourceList, n int) ([]Node, bool) {
	left := make([]Node, len(nodes))
	for i, nd := range nodes {
		left[i] = Node{Name: nd.Name, Free: nd.Free.DeepCopy(), Allocatable: nd.Allocatable}
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
