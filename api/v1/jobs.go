package v1

import "time"

// JobState is where a training job is in its life.
type JobState string

// Job states.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
)

// Done reports whether the state is final.
func (s JobState) Done() bool { return s == JobSucceeded || s == JobFailed || s == JobCancelled }

// Bounds of what one replica (or a notebook) may ask for: requests are
// positive and no larger than these.
const (
	MinCPU      = "1m"
	MaxCPU      = "1024"
	MinMemory   = "1Mi"
	MaxMemory   = "16Ti"
	MaxGPU      = 64
	MaxReplicas = 64
)

// JobReasonInadmissible starts the reason of a queued job that can never
// run as asked (larger than its tenant's quota or than any node): it waits
// for a quota or cluster change without holding back the tenant's queue.
const JobReasonInadmissible = "inadmissible: "

// Resources are what each replica (or a notebook) gets: request = limit.
type Resources struct {
	CPU    string `json:"cpu,omitempty" maxLength:"32" doc:"CPU, a Kubernetes quantity, 1m to 1024" example:"1"`
	Memory string `json:"memory,omitempty" maxLength:"32" doc:"memory, a Kubernetes quantity, 1Mi to 16Ti" example:"2Gi"`
	GPU    int64  `json:"gpu,omitempty" minimum:"0" maximum:"64" doc:"nvidia.com/gpu; counts against the tenant's gpu quota"`
}

// JobSubmit is the body of a job's submission. Omitted fields get the
// server's defaults (replicas 1, cpu 1, memory 1Gi, gpu 0, maxRetries 0).
type JobSubmit struct {
	Name       string            `json:"name" maxLength:"52" doc:"DNS-1123 label, unique in the tenant; not starting nb-, fp- or ferry-, not ending -r<digits> (names of ferry's own objects)"`
	Image      string            `json:"image" maxLength:"512" doc:"container image reference" example:"ferry.local/workload:1"`
	Command    []string          `json:"command" maxItems:"256" doc:"the command, as a list" example:"[\"python3\", \"/opt/ferry/examples/sklearn_train.py\"]"`
	Args       []string          `json:"args,omitempty" maxItems:"256"`
	Env        map[string]string `json:"env,omitempty"`
	Replicas   int32             `json:"replicas,omitempty" minimum:"0" maximum:"64" doc:"number of replicas (default 1, at most 64); each gets WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT"`
	Resources  Resources         `json:"resources,omitempty"`
	MaxRetries *int32            `json:"maxRetries,omitempty" doc:"pod failures tolerated before the job fails (default 0)"`
	Experiment string            `json:"experiment,omitempty" maxLength:"500" doc:"the MLflow experiment the job's run is in (created when missing; default: the tenant's Default)"`
}

// JobSpec is a job as it runs, defaults filled in.
type JobSpec struct {
	Image      string            `json:"image"`
	Command    []string          `json:"command"`
	Args       []string          `json:"args,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	Replicas   int32             `json:"replicas"`
	Resources  Resources         `json:"resources"`
	MaxRetries int32             `json:"maxRetries"`
	Experiment string            `json:"experiment,omitempty"`
}

// Replica is one replica's state as Kubernetes reports it.
type Replica struct {
	Index    int32  `json:"index"`
	Pod      string `json:"pod,omitempty"`
	Node     string `json:"node,omitempty"`
	Phase    string `json:"phase"`
	Restarts int32  `json:"restarts"`
	ExitCode *int32 `json:"exitCode,omitempty"`
	// LogSaved says the pod's log was copied to the blob store.
	LogSaved bool `json:"logSaved,omitempty"`
}

// Job is a training job.
type Job struct {
	Tenant     string     `json:"tenant"`
	Name       string     `json:"name"`
	Spec       JobSpec    `json:"spec"`
	State      JobState   `json:"state"`
	Reason     string     `json:"reason,omitempty"`
	Replicas   []Replica  `json:"replicas"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	AdmittedAt *time.Time `json:"admittedAt,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	// Run is the MLflow run the job is tracked as; its pods get
	// MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID, MLFLOW_RUN_ID and a
	// MLFLOW_TRACKING_TOKEN that may write only to it (revoked when the job ends).
	Run *JobRun `json:"run,omitempty"`
}

// JobRun names a job's run.
type JobRun struct {
	ExperimentID string `json:"experimentId"`
	RunID        string `json:"runId"`
}

// Environment variables ferry sets in a tracked job's pods (and refuses in a spec).
const (
	EnvTrackingURI   = "MLFLOW_TRACKING_URI"
	EnvTrackingToken = "MLFLOW_TRACKING_TOKEN"
	EnvRunID         = "MLFLOW_RUN_ID"
	EnvExperimentID  = "MLFLOW_EXPERIMENT_ID"
)

// JobLogOptions select a replica's log.
type JobLogOptions struct {
	Replica int32
	Follow  bool
}
