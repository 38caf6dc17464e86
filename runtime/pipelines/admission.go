package pipelines

// Admission of steps: before a step's pod is made, the step goes through
// the decision jobs go through (runtime/jobs: Capacity, Queue): its tenant's
// quota must hold it next to every pod of the tenant that has not ended
// (jobs' and steps') and the replicas of admitted jobs without pods yet,
// and some node must have room for it (when nodes are known). A step that
// fits starts; one that does not waits with the reason, first come first
// served within the tenant; one that never can fit fails.

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/store"
)

// newQueue is a pass's admission queue over what the cluster holds.
func newQueue(c cluster, tenantList []store.Tenant, active []store.Job) *jobs.Queue {
	usage := make(map[string]jobs.Usage, len(tenantList))
	for _, t := range tenantList {
		usage[t.Name] = jobs.Usage{Quota: t.Quota, Used: corev1.ResourceList{}}
	}
	q := jobs.NewQueue(usage, jobs.Capacity(c.nodes, c.all, usage, active))
	// A step is one pod: with no node known, the scheduler places or queues it.
	q.QuotaOnlyWithoutNodes = true
	return q
}

// admitStep says whether a pending row's pod may be made now. A row that
// must wait gets the reason ("waiting: tenant quota: …"); one that can
// never fit is failed (inadmissible: …), which fails the run as a failed
// step does.
func (e *Engine) admitStep(ctx context.Context, tx *store.Tx, st *runState, s v1.Step, row *store.PipelineStep) (bool, error) {
	if st.queue == nil {
		return true, nil
	}
	res := StepResources(s)
	d := st.queue.Admit(jobs.Request{Tenant: st.r.Tenant, Kind: "step", Name: row.Name + " of run " + st.r.RunID,
		Resources: store.Resources{CPU: res.CPU, Memory: res.Memory, GPU: res.GPU}, Replicas: 1})
	switch {
	case d.Admit:
		return true, nil
	case d.Inadmissible:
		now := e.Now().UTC()
		row.State, row.Reason, row.FinishedAt = store.PipelineRunFailed, d.Reason, &now
		if row.StartedAt == nil {
			row.StartedAt = &now
		}
		return false, e.endRow(ctx, tx, st, row, store.RunFailed)
	}
	if reason := "waiting: " + d.Reason; reason != row.Reason || row.State != store.PipelineRunPending {
		row.State, row.Reason = store.PipelineRunPending, reason
		return false, st.put(ctx, tx, row)
	}
	return false, nil
}
