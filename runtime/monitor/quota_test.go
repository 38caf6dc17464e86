package monitor

import (
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// TestQuotaUseArithmetic covers limits in numbers, free never below zero,
// and queued jobs counted replica by replica (running ones not at all).
func TestQuotaUseArithmetic(t *testing.T) {
	t.Parallel()
	job := func(state store.JobState, replicas int32, cpu, mem string, gpu int64) store.Job {
		return store.Job{State: state, Spec: store.JobSpec{Replicas: replicas, Resources: store.Resources{CPU: cpu, Memory: mem, GPU: gpu}}}
	}
	cases := []struct {
		name      string
		quota     store.Quota
		requested store.UsageAmount
		jobs      []store.Job
		want      Quota
	}{
		{name: "empty tenant", quota: store.Quota{CPU: "4", Memory: "8Gi"},
			want: Quota{Limit: store.UsageAmount{CPU: 4000, Memory: 8 << 30}, Free: store.UsageAmount{CPU: 4000, Memory: 8 << 30}}},
		{name: "half used, two queued jobs of three replicas", quota: store.Quota{CPU: "4", Memory: "8Gi", GPU: 2},
			requested: store.UsageAmount{CPU: 2500, Memory: 3 << 30, GPU: 1},
			jobs: []store.Job{job(store.JobRunning, 4, "1", "1Gi", 0), job(store.JobQueued, 2, "500m", "1Gi", 1), job(store.JobQueued, 1, "1500m", "512Mi", 0),
				job(store.JobFailed, 9, "9", "9Gi", 9), job(store.JobQueued, 1, "not-a-quantity", "1Gi", 0)},
			want: Quota{Limit: store.UsageAmount{CPU: 4000, Memory: 8 << 30, GPU: 2}, Requested: store.UsageAmount{CPU: 2500, Memory: 3 << 30, GPU: 1},
				Free: store.UsageAmount{CPU: 1500, Memory: 5 << 30, GPU: 1}, QueuedJobs: 2, QueuedReplicas: 3,
				Queued: store.UsageAmount{CPU: 2500, Memory: 2<<30 + 512<<20, GPU: 2}}},
		{name: "over a lowered quota: free is zero, not negative", quota: store.Quota{CPU: "500m", Memory: "1Gi"},
			requested: store.UsageAmount{CPU: 2000, Memory: 4 << 30},
			want:      Quota{Limit: store.UsageAmount{CPU: 500, Memory: 1 << 30}, Requested: store.UsageAmount{CPU: 2000, Memory: 4 << 30}}},
		{name: "fractional and decimal quantities", quota: store.Quota{CPU: "0.25", Memory: "1G"},
			want: Quota{Limit: store.UsageAmount{CPU: 250, Memory: 1e9}, Free: store.UsageAmount{CPU: 250, Memory: 1e9}}},
	}
	for _, c := range cases {
		got, err := QuotaUse(c.quota, c.requested, c.jobs)
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", c.name, got, err, c.want)
		}
	}
	if _, err := QuotaUse(store.Quota{CPU: "lots"}, store.UsageAmount{}, nil); err == nil {
		t.Error("a broken quota was accepted")
	}
}
