package v1

import "time"

// PipelineCreate is the body that creates a pipeline or, when the name is
// taken, adds a version to it (an identical spec adds none). Give the spec
// either as an object (JSON) or as YAML text.
type PipelineCreate struct {
	Name string        `json:"name" maxLength:"52" doc:"DNS-1123 label, unique in the tenant"`
	Spec *PipelineSpec `json:"spec,omitempty"`
	YAML string        `json:"yaml,omitempty" doc:"the spec as YAML (or JSON) text, instead of spec"`
}

// Pipeline is a named pipeline of a tenant.
type Pipeline struct {
	Tenant        string    `json:"tenant"`
	Name          string    `json:"name"`
	LatestVersion int64     `json:"latestVersion"`
	Description   string    `json:"description,omitempty"`
	CreatedBy     string    `json:"createdBy"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// PipelineVersion is one numbered spec of a pipeline.
type PipelineVersion struct {
	Pipeline  string       `json:"pipeline"`
	Version   int64        `json:"version"`
	Digest    string       `json:"digest" doc:"sha256 of the canonical JSON spec"`
	Spec      PipelineSpec `json:"spec"`
	CreatedBy string       `json:"createdBy"`
	CreatedAt time.Time    `json:"createdAt"`
}

// PipelineRunSubmit starts a run of a pipeline.
type PipelineRunSubmit struct {
	Version    int64             `json:"version,omitempty" minimum:"0" doc:"the version to run (default: the latest)"`
	Parameters map[string]string `json:"parameters,omitempty" doc:"parameter values as text (lists as JSON)"`
}

// PipelineRunState is where a pipeline run or a step is in its life.
type PipelineRunState string

// Run and step states.
const (
	PipelineRunPending   PipelineRunState = "pending"
	PipelineRunRunning   PipelineRunState = "running"
	PipelineRunSucceeded PipelineRunState = "succeeded"
	PipelineRunFailed    PipelineRunState = "failed"
	PipelineRunCancelled PipelineRunState = "cancelled"
	// StepSkipped is a step whose when was false or whose upstream failed.
	StepSkipped PipelineRunState = "skipped"
	// StepCached is a step answered from the cache, with no pod.
	StepCached PipelineRunState = "cached"
)

// Done says whether the state is final.
func (s PipelineRunState) Done() bool {
	switch s {
	case PipelineRunSucceeded, PipelineRunFailed, PipelineRunCancelled, StepSkipped, StepCached:
		return true
	}
	return false
}

// PipelineRun is one execution of a pipeline version; ID is its tracking run's.
type PipelineRun struct {
	ID         string            `json:"id"`
	Tenant     string            `json:"tenant"`
	Pipeline   string            `json:"pipeline"`
	Version    int64             `json:"version"`
	Parameters map[string]string `json:"parameters"`
	State      PipelineRunState  `json:"state"`
	Reason     string            `json:"reason,omitempty"`
	Schedule   string            `json:"schedule,omitempty"`
	CreatedBy  string            `json:"createdBy"`
	CreatedAt  time.Time         `json:"createdAt"`
	StartedAt  *time.Time        `json:"startedAt,omitempty"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
	Steps      []StepRun         `json:"steps,omitempty"`
}

// StepRun is one step (or one item of a fan-out) of a run.
type StepRun struct {
	Name       string            `json:"name" doc:"the step, with [i] for an item of a parallelFor"`
	Step       string            `json:"step"`
	Item       *int32            `json:"item,omitempty"`
	State      PipelineRunState  `json:"state"`
	Reason     string            `json:"reason,omitempty" maxLength:"1024" doc:"why it waits, was skipped or failed, in plain words (OOMKilled with the limit, an image that cannot be pulled, an unschedulable pod, ...)"`
	Attempt    int32             `json:"attempt"`
	Pod        string            `json:"pod,omitempty"`
	RunID      string            `json:"runId,omitempty" doc:"the step's child tracking run"`
	CacheKey   string            `json:"cacheKey,omitempty"`
	CachedFrom string            `json:"cachedFrom,omitempty" doc:"the run whose outputs a cached step reuses"`
	Outputs    map[string]string `json:"outputs,omitempty" doc:"output parameters; artifacts as sha256:<digest>"`
	DependsOn  []string          `json:"dependsOn,omitempty"`
	StartedAt  *time.Time        `json:"startedAt,omitempty"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
}

// PipelineRunListOptions select runs: of one pipeline, in one state.
type PipelineRunListOptions struct {
	Pipeline string
	State    PipelineRunState
	ListOptions
}
