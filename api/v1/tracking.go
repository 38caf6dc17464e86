package v1

import "time"

// Experiment tracking and the model registry as ferry's own API shows them
// (the same objects are served in MLflow's wire format under /mlflow/{tenant}/).
const (
	PathExperiments   = PathTenant + "/experiments"
	PathRuns          = PathTenant + "/runs"
	PathRun           = PathRuns + "/{run}"
	PathModels        = PathTenant + "/models"
	PathModel         = PathModels + "/{model}"
	PathModelVersions = PathModel + "/versions"
	// PathModelVersion is one version; {version} is its number (1, 2, ...).
	PathModelVersion = PathModelVersions + "/{version}"
	// MLflowPrefix is where a tenant's MLflow-compatible API lives:
	// MLFLOW_TRACKING_URI=<server>/mlflow/<tenant>.
	MLflowPrefix = "/mlflow/"
)

// Experiment groups runs in a tenant.
type Experiment struct {
	ID               string            `json:"id" doc:"MLflow's experiment_id; 0 is the tenant's Default"`
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifactLocation"`
	LifecycleStage   string            `json:"lifecycleStage" enum:"active,deleted"`
	Tags             map[string]string `json:"tags,omitempty"`
	CreatedAt        time.Time         `json:"createdAt"`
	UpdatedAt        time.Time         `json:"updatedAt"`
}

// MetricValue is the latest point of a metric (largest step, then timestamp).
// Value is a string when not finite: "NaN", "Infinity", "-Infinity".
type MetricValue struct {
	Key       string `json:"key"`
	Value     any    `json:"value" doc:"a number, or the string NaN, Infinity or -Infinity"`
	Step      int64  `json:"step"`
	Timestamp int64  `json:"timestamp" doc:"milliseconds since the epoch"`
}

// Run is one tracked execution: params, tags and the latest metrics.
type Run struct {
	ID             string            `json:"id"`
	ExperimentID   string            `json:"experimentId"`
	Name           string            `json:"name"`
	User           string            `json:"user"`
	Status         string            `json:"status" enum:"RUNNING,SCHEDULED,FINISHED,FAILED,KILLED"`
	LifecycleStage string            `json:"lifecycleStage" enum:"active,deleted"`
	StartTime      time.Time         `json:"startTime"`
	EndTime        *time.Time        `json:"endTime,omitempty"`
	ArtifactURI    string            `json:"artifactUri"`
	ParentRunID    string            `json:"parentRunId,omitempty"`
	Params         map[string]string `json:"params,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Metrics        []MetricValue     `json:"metrics,omitempty"`
}

// ModelVersion is one numbered version of a registered model, with its lineage (the run).
type ModelVersion struct {
	Model   string `json:"model"`
	Version int64  `json:"version"`
	Source  string `json:"source"`
	RunID   string `json:"runId,omitempty"`
	// Job is the training job whose run made the version (lineage), if any.
	Job string `json:"job,omitempty"`
	// PipelineRun and Step: the pipeline step whose run made the version, if any.
	PipelineRun string            `json:"pipelineRun,omitempty"`
	Step        string            `json:"step,omitempty"`
	Status      string            `json:"status"`
	Description string            `json:"description,omitempty"`
	Aliases     []string          `json:"aliases,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	CreatedBy   string            `json:"createdBy,omitempty"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
}

// RegisteredModel is a named model of a tenant's registry.
type RegisteredModel struct {
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	Aliases       map[string]int64  `json:"aliases,omitempty" doc:"alias -> version (champion -> 3)"`
	LatestVersion int64             `json:"latestVersion,omitempty"`
	CreatedBy     string            `json:"createdBy,omitempty"`
	CreatedAt     time.Time         `json:"createdAt"`
	UpdatedAt     time.Time         `json:"updatedAt"`
}

// RunListOptions select runs: an experiment (default 0) and a page.
type RunListOptions struct {
	Experiment string
	ListOptions
}
