package v1

import "time"

// Paths of monitoring: live use (ferry top), one workload's use, a
// tenant's quota use, and who read a tenant's data.
const (
	PathUsage         = Prefix + "/usage"
	PathWorkloadUsage = PathTenant + "/usage/{kind}/{name}"
	PathTenantQuota   = PathTenant + "/quota"
	PathTenantReads   = PathTenant + "/reads"
)

// WorkloadKind is the kind of ferry object whose pods are measured.
type WorkloadKind string

// Workload kinds. A pipeline step's name is "<run>.<step>"; a serving
// revision's is its Deployment's ("<deployment>-r<N>").
const (
	WorkloadJob      WorkloadKind = "job"
	WorkloadNotebook WorkloadKind = "notebook"
	WorkloadStep     WorkloadKind = "step"
	WorkloadRevision WorkloadKind = "revision"
)

// ResourceAmount is requested (or allowed) resources: CPU in millicores,
// memory in bytes, GPUs as a count.
type ResourceAmount struct {
	CPUMillicores int64 `json:"cpuMillicores"`
	MemoryBytes   int64 `json:"memoryBytes"`
	GPU           int64 `json:"gpu"`
}

// ResourceUse is measured use: CPU in millicores, memory working set in
// bytes, and the accelerators' duty cycle summed in percent (100 = one GPU
// fully busy; 0 where the node exposes no accelerator figures).
type ResourceUse struct {
	CPUMillicores int64 `json:"cpuMillicores"`
	MemoryBytes   int64 `json:"memoryBytes"`
	GPUPercent    int64 `json:"gpuPercent"`
}

// UsagePoint is one sample or bucket of a series: means and peaks over
// Samples samples from Time on.
type UsagePoint struct {
	Time    time.Time   `json:"time"`
	Samples int64       `json:"samples"`
	Mean    ResourceUse `json:"mean"`
	Peak    ResourceUse `json:"peak"`
}

// WorkloadUsage is what one ferry object's pods use, summed, against what
// they request.
type WorkloadUsage struct {
	Tenant string       `json:"tenant"`
	Kind   WorkloadKind `json:"kind"`
	Name   string       `json:"name"`
	// Pods that have not ended, as last sampled.
	Pods    int64          `json:"pods"`
	Request ResourceAmount `json:"request"`
	// Current is the last sample (absent when the object has no pods now).
	Current *ResourceUse `json:"current,omitempty"`
	// Average and Peak span every sample kept (up to the retention).
	Average   *ResourceUse `json:"average,omitempty"`
	Peak      *ResourceUse `json:"peak,omitempty"`
	Samples   int64        `json:"samples"`
	FirstSeen time.Time    `json:"firstSeen"`
	LastSeen  time.Time    `json:"lastSeen"`
	// Series is present when asked for (window=).
	Series []UsagePoint `json:"series,omitempty"`
}

// Top is the live use of every ferry object the caller may see, heaviest
// CPU first.
type Top struct {
	// SampledAt is the sampler's last pass (absent: none yet).
	SampledAt *time.Time `json:"sampledAt,omitempty"`
	// IntervalSeconds is the sampling interval.
	IntervalSeconds int64 `json:"intervalSeconds"`
	// Stale: the last pass is older than three intervals (no sampler runs).
	Stale bool            `json:"stale"`
	Items []WorkloadUsage `json:"items"`
}

// QueuedWork is what waits for admission: queued jobs and what all their
// replicas would request.
type QueuedWork struct {
	Jobs     int64          `json:"jobs"`
	Replicas int64          `json:"replicas"`
	Request  ResourceAmount `json:"request"`
}

// QuotaUse is a tenant's quota against what its pods hold and use.
type QuotaUse struct {
	Tenant string `json:"tenant"`
	// Quota is the tenant's limits; Limit the same in numbers.
	Quota Quota          `json:"quota"`
	Limit ResourceAmount `json:"limit"`
	// Requested is what its pods that have not ended request (what the
	// ResourceQuota counts), as last sampled.
	Requested ResourceAmount `json:"requested"`
	// Free is Limit minus Requested, never below zero.
	Free ResourceAmount `json:"free"`
	// Used is what those pods measured in the last sample.
	Used   ResourceUse `json:"used"`
	Queued QueuedWork  `json:"queued"`
	// SampledAt is the sample Requested and Used come from (absent: none).
	SampledAt *time.Time `json:"sampledAt,omitempty"`
	Stale     bool       `json:"stale"`
}

// AccessKind is what a read fetched.
type AccessKind string

// Access kinds: a run's artifact (MLflow's artifact proxy, models
// included), a serving revision's model file, a job's or step's log.
const (
	AccessArtifact AccessKind = "artifact"
	AccessModel    AccessKind = "model"
	AccessLog      AccessKind = "log"
)

// Access is one read of a tenant's data.
type Access struct {
	ID     int64      `json:"id"`
	Time   time.Time  `json:"time"`
	Tenant string     `json:"tenant"`
	Actor  string     `json:"actor"`
	Kind   AccessKind `json:"kind"`
	Object string     `json:"object"`
}

// TopOptions select ferry top's objects: one tenant ("": every tenant the
// caller is a member of, all for admins), at most Limit (server default 200).
type TopOptions struct {
	Tenant string
	Limit  int
}

// UsageOptions ask a workload's series over the last Window ("": none;
// e.g. "1h", "1d", "7d").
type UsageOptions struct {
	Window string
}

// ReadsFilter selects a tenant's reads.
type ReadsFilter struct {
	Actor string
	Kind  AccessKind
}
