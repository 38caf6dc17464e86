package v1

// Lineage, queryable both ways: the runs that produced and consumed an
// artifact (by digest), and what made a model version, back through the
// pipeline steps upstream of it and their input artifacts.
const (
	PathArtifactLineage     = PathTenant + "/lineage/artifacts/{digest}"
	PathModelVersionLineage = PathModelVersion + "/lineage"
)

// Bounds of a model version's lineage walk.
const (
	LineageDefaultDepth = 20
	LineageMaxDepth     = 100
	LineageDefaultSteps = 200
	LineageMaxSteps     = 1000
)

// LineageRun is a tracking run in lineage and what it is the run of: a
// pipeline step (pipelineRun and step), a training job, or neither.
type LineageRun struct {
	RunID string `json:"runId"`
	// Path is where the artifact is in the run's tree (artifact lineage).
	Path        string `json:"path,omitempty"`
	PipelineRun string `json:"pipelineRun,omitempty" doc:"the pipeline run (its tracking run id) whose step this run is"`
	Pipeline    string `json:"pipeline,omitempty"`
	Step        string `json:"step,omitempty" doc:"the step, or step[i] for an item of a fan-out"`
	Job         string `json:"job,omitempty" doc:"the training job this run tracks"`
}

// ModelVersionRef names a model version.
type ModelVersionRef struct {
	Model   string `json:"model"`
	Version int64  `json:"version"`
	RunID   string `json:"runId,omitempty"`
}

// ArtifactLineage answers which runs produced an artifact (uploaded it to
// their tree: a step's outputs, a job's files) and which consumed it (a
// step whose input it was), and the model versions whose files hold it.
// A cached step reuses its producer's outputs and is listed neither way;
// the steps downstream of it are consumers.
type ArtifactLineage struct {
	Digest     string            `json:"digest" doc:"sha256:<hex>"`
	Size       int64             `json:"size"`
	ProducedBy []LineageRun      `json:"producedBy"`
	ConsumedBy []LineageRun      `json:"consumedBy"`
	Models     []ModelVersionRef `json:"models,omitempty"`
	// Truncated says some runs were left off (more than the limit).
	Truncated bool `json:"truncated,omitempty"`
}

// LineageStep is a pipeline step in a model version's lineage.
type LineageStep struct {
	// Key is pipelineRun/step, what upstream names.
	Key         string           `json:"key"`
	PipelineRun string           `json:"pipelineRun"`
	Pipeline    string           `json:"pipeline"`
	Step        string           `json:"step"`
	RunID       string           `json:"runId,omitempty" doc:"the step's tracking run (none when it was cached)"`
	State       PipelineRunState `json:"state"`
	// CachedFrom is the pipeline run whose outputs a cached step got; its
	// producing step is then upstream of it.
	CachedFrom string `json:"cachedFrom,omitempty"`
	// Depth is the distance from the step that made the version (0).
	Depth int `json:"depth"`
	// Inputs are the step's input artifacts: name → sha256:<hex>.
	Inputs  map[string]string `json:"inputs,omitempty"`
	Outputs map[string]string `json:"outputs,omitempty"`
	// Upstream are the keys of the steps this one depends on (its spec's
	// dependencies in the same run, or the step a cached one copied).
	Upstream []string `json:"upstream,omitempty"`
}

// ModelVersionLineage is what made a model version and, transitively, the
// pipeline steps upstream of it and their inputs, nearest first, to the
// roots (steps with no upstream) or the requested depth.
type ModelVersionLineage struct {
	Model   string     `json:"model"`
	Version int64      `json:"version"`
	Source  string     `json:"source"`
	MadeBy  LineageRun `json:"madeBy" doc:"the run the version was registered from (a logged model's source run), with its step or job"`
	// Steps: empty when the version's run is no pipeline step's.
	Steps []LineageStep `json:"steps"`
	// Artifacts are the input digests of those steps, each once.
	Artifacts []string `json:"artifacts"`
	// Truncated says the walk stopped at the depth or step limit.
	Truncated bool `json:"truncated,omitempty"`
}

// LineageOptions bound a model version's lineage walk (0: the defaults).
type LineageOptions struct {
	Depth int
	Steps int
}
