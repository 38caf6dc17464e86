package monitor

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Quota is a tenant's quota arithmetic: its limits in numbers (millicores,
// bytes, GPUs), what its pods request and what is left, and what queued
// jobs would request once admitted.
type Quota struct {
	Limit, Requested, Free store.UsageAmount
	QueuedJobs             int64
	QueuedReplicas         int64
	Queued                 store.UsageAmount
}

// QuotaUse computes a tenant's Quota from its quota, the requests of its
// pods that have not ended, and its jobs (only the queued ones count).
// Free is never below zero: pods admitted before a quota was lowered may
// hold more than it allows.
func QuotaUse(q store.Quota, requested store.UsageAmount, jobList []store.Job) (Quota, error) {
	cpu, err := quantity(q.CPU)
	if err != nil {
		return Quota{}, fmt.Errorf("quota cpu %q: %w", q.CPU, err)
	}
	mem, err := quantity(q.Memory)
	if err != nil {
		return Quota{}, fmt.Errorf("quota memory %q: %w", q.Memory, err)
	}
	out := Quota{Limit: store.UsageAmount{CPU: cpu.MilliValue(), Memory: mem.Value(), GPU: q.GPU}, Requested: requested}
	out.Free = store.UsageAmount{CPU: max(out.Limit.CPU-requested.CPU, 0), Memory: max(out.Limit.Memory-requested.Memory, 0), GPU: max(out.Limit.GPU-requested.GPU, 0)}
	for _, j := range jobList {
		if j.State != store.JobQueued {
			continue
		}
		req, err := jobs.Requests(j.Spec.Resources)
		if err != nil {
			continue // inadmissible as asked; its reason says so
		}
		n := int64(j.Spec.Replicas)
		out.QueuedJobs++
		out.QueuedReplicas += n
		c, m, g := req.Cpu(), req.Memory(), req[tenants.GPUResource]
		out.Queued.CPU += n * c.MilliValue()
		out.Queued.Memory += n * m.Value()
		out.Queued.GPU += n * g.Value()
	}
	return out, nil
}

func quantity(s string) (resource.Quantity, error) {
	if s == "" {
		return resource.Quantity{}, nil
	}
	return resource.ParseQuantity(s)
}
