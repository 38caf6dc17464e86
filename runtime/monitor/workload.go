package monitor

import (
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/notebooks"
	"github.com/ferry-ml/ferry/runtime/pipelines"
	"github.com/ferry-ml/ferry/runtime/serving"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// WorkloadOf names the ferry object a pod belongs to, from the labels its
// controller gave it; false for a pod of no ferry object (or one outside
// its tenant's namespace).
func WorkloadOf(p *corev1.Pod) (store.WorkloadKey, bool) {
	l := p.Labels
	tenant := l[tenants.TenantLabel]
	if tenant == "" || p.Namespace != tenants.Namespace(tenant) {
		return store.WorkloadKey{}, false
	}
	k := store.WorkloadKey{Tenant: tenant}
	switch {
	case l[jobs.JobLabel] != "":
		k.Kind, k.Name = store.WorkloadJob, l[jobs.JobLabel]
	case l[notebooks.NotebookLabel] != "":
		k.Kind, k.Name = store.WorkloadNotebook, l[notebooks.NotebookLabel]
	case l[pipelines.RunLabel] != "" && l[pipelines.StepLabel] != "":
		k.Kind, k.Name = store.WorkloadStep, StepName(l[pipelines.RunLabel], l[pipelines.StepLabel])
	case l[serving.RevisionLabel] != "":
		k.Kind, k.Name = store.WorkloadRevision, l[serving.RevisionLabel]
	default:
		return store.WorkloadKey{}, false
	}
	return k, len(k.Name) <= store.MaxWorkloadName
}

// StepName is a pipeline step's workload name: "<run>.<step>" (the step
// as its pod label spells it, fan-out items "train-2").
func StepName(run, step string) string { return run + "." + step }

// ended says whether a pod is done: it holds no quota and uses nothing.
func ended(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// Requests is what a pod holds against its tenant's quota, as the
// ResourceQuota counts it: per resource, the larger of its containers' sum
// and its largest init container (millicores, bytes, GPUs).
func Requests(p *corev1.Pod) store.UsageAmount {
	var sum, initMax store.UsageAmount
	for _, c := range p.Spec.Containers {
		r := containerRequests(c)
		sum.CPU, sum.Memory, sum.GPU = sum.CPU+r.CPU, sum.Memory+r.Memory, sum.GPU+r.GPU
	}
	for _, c := range p.Spec.InitContainers {
		r := containerRequests(c)
		initMax.CPU, initMax.Memory, initMax.GPU = max(initMax.CPU, r.CPU), max(initMax.Memory, r.Memory), max(initMax.GPU, r.GPU)
	}
	return store.UsageAmount{CPU: max(sum.CPU, initMax.CPU), Memory: max(sum.Memory, initMax.Memory), GPU: max(sum.GPU, initMax.GPU)}
}

func containerRequests(c corev1.Container) store.UsageAmount {
	var a store.UsageAmount
	r := c.Resources.Requests
	if q, ok := r[corev1.ResourceCPU]; ok {
		a.CPU = q.MilliValue()
	}
	if q, ok := r[corev1.ResourceMemory]; ok {
		a.Memory = q.Value()
	}
	if q, ok := r[tenants.GPUResource]; ok {
		a.GPU = q.Value()
	} else if q, ok := c.Resources.Limits[tenants.GPUResource]; ok {
		a.GPU = q.Value() // extended resources: the limit is the request
	}
	return a
}

// Samples sums, per ferry object, the requests of its pods that have not
// ended and what the kubelets measured for them (by pod UID; a pod not
// measured yet, pending or between samples, adds its requests only). The
// result is sorted by key.
func Samples(pods []*corev1.Pod, measured map[string]PodUsage) []store.UsageSample {
	by := map[store.WorkloadKey]*store.UsageSample{}
	for _, p := range pods {
		if ended(p) {
			continue
		}
		k, ok := WorkloadOf(p)
		if !ok {
			continue
		}
		s := by[k]
		if s == nil {
			s = &store.UsageSample{Key: k}
			by[k] = s
		}
		r := Requests(p)
		s.Pods++
		s.Request.CPU += r.CPU
		s.Request.Memory += r.Memory
		s.Request.GPU += r.GPU
		if u, ok := measured[string(p.UID)]; ok {
			s.Use.CPU += clamp(u.CPU)
			s.Use.Memory += clamp(u.Memory)
			s.Use.GPU += clamp(u.GPU)
		}
	}
	out := make([]store.UsageSample, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

// clamp keeps a kubelet figure within int64 (a broken kubelet's huge
// numbers must not wrap negative).
func clamp(v uint64) int64 {
	const limit = 1 << 62
	if v > limit {
		return limit
	}
	return int64(v)
}
