package v1

// Pipelines: DAGs of container steps. A pipeline is stored with numbered
// versions of its spec; a pipeline run references one version and the
// parameter values given, and is a tracking run whose steps are child runs.

// PipelineAPIVersion is the apiVersion of the spec this contract reads.
const PipelineAPIVersion = "ferry.dev/v1"

// PipelineKind is the kind of a pipeline spec.
const PipelineKind = "Pipeline"

// Bounds of a pipeline spec.
const (
	MaxPipelineSpecBytes  = 256 << 10
	MaxPipelineSteps      = 200
	MaxPipelineParameters = 100
	MaxParallelFor        = 1000
	MaxStepName           = 40
	MaxPipelineName       = 52
)

// Pipeline paths.
const (
	PathPipelines        = PathTenant + "/pipelines"
	PathPipeline         = PathPipelines + "/{pipeline}"
	PathPipelineVersions = PathPipeline + "/versions"
	PathPipelineRuns     = PathPipeline + "/runs"
	PathPipelineRunList  = PathTenant + "/pipeline-runs"
	PathPipelineRun      = PathPipelineRunList + "/{run}"
	PathPipelineRunCncl  = PathPipelineRun + "/cancel"
	PathPipelineRunRetry = PathPipelineRun + "/retry"
	PathPipelineStepLogs = PathPipelineRun + "/steps/{step}/logs"
)

// ParamType is the type of a pipeline parameter.
type ParamType string

// Parameter types.
const (
	ParamString ParamType = "string"
	ParamInt    ParamType = "int"
	ParamFloat  ParamType = "float"
	ParamBool   ParamType = "bool"
	ParamList   ParamType = "list"
)

// PipelineSpec is a pipeline's definition, as YAML or JSON.
//
// References are written {{params.NAME}}, {{steps.STEP.outputs.parameters.NAME}},
// {{steps.STEP.outputs.artifacts.NAME}} and {{item}} (the value of a
// parallelFor); they may appear in args, env values and inputs, and imply a
// dependency on the step they name.
type PipelineSpec struct {
	APIVersion  string          `json:"apiVersion" maxLength:"64" doc:"ferry.dev/v1"`
	Kind        string          `json:"kind" maxLength:"32" doc:"Pipeline"`
	Description string          `json:"description,omitempty" maxLength:"4096"`
	Parameters  []PipelineParam `json:"parameters,omitempty" maxItems:"100"`
	Steps       []Step          `json:"steps" maxItems:"200"`
	// Finally are exit steps: they run once every other step has ended, whatever its state.
	Finally []Step `json:"finally,omitempty" maxItems:"20"`
}

// PipelineParam is a parameter of the pipeline, given at submit.
type PipelineParam struct {
	Name        string    `json:"name" maxLength:"64"`
	Type        ParamType `json:"type,omitempty" enum:"string,int,float,bool,list" doc:"default string"`
	Default     any       `json:"default,omitempty" doc:"a value of the type; a parameter without one is required"`
	Description string    `json:"description,omitempty" maxLength:"1024"`
}

// Step is one container of the DAG.
type Step struct {
	Name      string            `json:"name" maxLength:"40" doc:"DNS-1123 label, unique in the pipeline"`
	Image     string            `json:"image" maxLength:"512"`
	Command   []string          `json:"command" maxItems:"256"`
	Args      []string          `json:"args,omitempty" maxItems:"256"`
	Env       map[string]string `json:"env,omitempty"`
	Resources Resources         `json:"resources,omitempty"`
	Inputs    StepInputs        `json:"inputs,omitempty"`
	Outputs   StepOutputs       `json:"outputs,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty" maxItems:"200"`
	Retries   *RetryPolicy      `json:"retries,omitempty"`
	Timeout   string            `json:"timeout,omitempty" maxLength:"32" doc:"a Go duration, e.g. 30m"`
	Cache     *bool             `json:"cache,omitempty" doc:"reuse an earlier identical step's outputs (default true)"`
	// CacheMaxAge bounds how old a reused result may be ("" : any age).
	CacheMaxAge string       `json:"cacheMaxAge,omitempty" maxLength:"32"`
	ParallelFor *ParallelFor `json:"parallelFor,omitempty"`
	When        string       `json:"when,omitempty" maxLength:"1024" doc:"'{{ref}} OP value', OP one of == != < <= > >=; a false condition skips the step"`
}

// StepInputs are what a step reads: parameter values (literals or
// references) and artifacts (references to upstream artifact outputs),
// downloaded to /ferry/inputs/<name>.
type StepInputs struct {
	Parameters map[string]string `json:"parameters,omitempty"`
	Artifacts  map[string]string `json:"artifacts,omitempty"`
}

// StepOutputs are what a step writes: artifacts are files or directories
// at /ferry/outputs/<name>; parameters and metrics are reported through
// /ferry/outputs/parameters/<name> and /ferry/outputs/metrics/<name> (a number).
type StepOutputs struct {
	Artifacts  []string `json:"artifacts,omitempty" maxItems:"64"`
	Parameters []string `json:"parameters,omitempty" maxItems:"64"`
	Metrics    []string `json:"metrics,omitempty" maxItems:"64"`
}

// RetryPolicy says how often and when a failed step is tried again.
type RetryPolicy struct {
	Limit   int32    `json:"limit" minimum:"0" maximum:"20"`
	Backoff *Backoff `json:"backoff,omitempty"`
	// OnFailures lists the failures retried: error (non-zero exit), oom, timeout,
	// evicted; empty means all of them.
	OnFailures []string `json:"onFailures,omitempty" maxItems:"4"`
}

// Backoff is the wait before a retry: initial × factor^attempt, at most max.
type Backoff struct {
	Initial string  `json:"initial,omitempty" maxLength:"32" doc:"default 10s"`
	Factor  float64 `json:"factor,omitempty" minimum:"0" maximum:"10" doc:"default 2"`
	Max     string  `json:"max,omitempty" maxLength:"32" doc:"default 5m"`
}

// ParallelFor fans a step out over a list: a pipeline list parameter or an
// upstream output parameter holding a JSON list.
type ParallelFor struct {
	Items       string `json:"items" maxLength:"256" doc:"{{params.NAME}} or {{steps.STEP.outputs.parameters.NAME}}"`
	Parallelism int32  `json:"parallelism,omitempty" minimum:"0" maximum:"1000" doc:"at most this many at once (0: no limit)"`
}

// The step wrapper's contract (`ferry step -- CMD` in every step pod): the
// environment ferry sets and the files the step reads and writes.
const (
	StepEnvURL         = "FERRY_URL"
	StepEnvTenant      = "FERRY_TENANT"
	StepEnvRun         = "FERRY_RUN"
	StepEnvToken       = "FERRY_TOKEN"
	StepEnvInputs      = "FERRY_INPUTS"
	StepEnvInputParams = "FERRY_INPUT_PARAMS"
	StepEnvOutputs     = "FERRY_OUTPUTS"
	// StepInputsDir holds input artifacts by name, and parameters/<name>.
	StepInputsDir = "/ferry/inputs"
	// StepOutputsDir takes output artifacts by name, parameters/<name> and
	// metrics/<name> (a number).
	StepOutputsDir = "/ferry/outputs"
	// StepTagOutput prefixes the tags of a step's run that carry its output parameters.
	StepTagOutput = "ferry.output."
	// StepArtifactOutputs and StepArtifactInputs are where a step's run keeps its artifacts.
	StepArtifactOutputs = "outputs/"
	StepArtifactInputs  = "inputs/"
)
