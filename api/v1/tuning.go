package v1

import (
	"encoding/json"
	"strconv"
	"time"
)

// Tuning: hyperparameter search experiments. A tuning runs trials, each an
// ordinary training job with its own tracking run (a child of the tuning's
// run); the objective is read from the trials' run metrics, suggestions are
// computed in the control plane (random, grid, TPE) and the median stopping
// rule cancels trials whose intermediate values fall behind.

// TuningKind is the kind of a tuning spec (apiVersion PipelineAPIVersion).
const TuningKind = "Tuning"

// Bounds of a tuning spec.
const (
	MaxTuningSpecBytes = 64 << 10
	// MaxTuningName keeps trial job names (<tuning>-t<N>, N < 1000) within MaxJobName.
	MaxTuningName       = 46
	MaxTuningTrials     = 1000
	MaxTuningParallel   = 50
	MaxTuningParams     = 50
	MaxTuningChoices    = 100
	MaxTuningParamName  = 64
	MaxTuningChoiceLen  = 256
	MaxTuningGridPoints = 1000
	// MaxTuningGrid bounds the number of points of a grid search.
	MaxTuningGrid = 100000
)

// Tuning paths.
const (
	PathTunings      = PathTenant + "/tunings"
	PathTuning       = PathTunings + "/{tuning}"
	PathTuningStop   = PathTuning + "/stop"
	PathTuningTrials = PathTuning + "/trials"
	PathTuningBest   = PathTuning + "/best"
)

// Search algorithms.
const (
	AlgorithmRandom = "random"
	AlgorithmGrid   = "grid"
	AlgorithmTPE    = "tpe"
)

// Parameter types of a search space.
const (
	TuningInt         = "int"
	TuningFloat       = "float"
	TuningCategorical = "categorical"
)

// Objective directions.
const (
	Minimize = "minimize"
	Maximize = "maximize"
)

// EarlyStoppingMedian is the median stopping rule.
const EarlyStoppingMedian = "median"

// TuningCreate is the body that starts a tuning: the spec as an object or
// as YAML (or JSON) text.
type TuningCreate struct {
	Spec *TuningSpec `json:"spec,omitempty"`
	YAML string      `json:"yaml,omitempty" maxLength:"65536" doc:"the spec as YAML (or JSON) text, instead of spec"`
}

// TuningSpec is a tuning's definition. ${params.NAME} in the trial
// template's command, args and env values is replaced by the trial's value
// of parameter NAME.
type TuningSpec struct {
	APIVersion string          `json:"apiVersion" maxLength:"64" doc:"ferry.dev/v1"`
	Kind       string          `json:"kind" maxLength:"32" doc:"Tuning"`
	Name       string          `json:"name" maxLength:"46" doc:"DNS-1123 label, unique in the tenant, not starting nb-, fp- or ferry-; trials are jobs <name>-t<N>"`
	Objective  TuningObjective `json:"objective"`
	Parameters []TuningParam   `json:"parameters" maxItems:"50"`
	Algorithm  string          `json:"algorithm,omitempty" enum:"random,grid,tpe" doc:"default tpe"`
	// MaxTrials is how many trials run at most (a grid runs at most its size).
	MaxTrials       int            `json:"maxTrials,omitempty" minimum:"0" maximum:"1000" doc:"default 10 (a grid: its size, at most 1000)"`
	ParallelTrials  int            `json:"parallelTrials,omitempty" minimum:"0" maximum:"50" doc:"trials running at once (default 1)"`
	MaxFailedTrials *int           `json:"maxFailedTrials,omitempty" minimum:"0" maximum:"1000" doc:"failed trials tolerated; one more fails the tuning (default 3)"`
	EarlyStopping   *EarlyStopping `json:"earlyStopping,omitempty"`
	Seed            int64          `json:"seed,omitempty" doc:"makes the suggestions reproducible (default 0)"`
	Experiment      string         `json:"experiment,omitempty" maxLength:"500" doc:"the MLflow experiment of the tuning's run and its trials (default: the tuning's name)"`
	Trial           TrialTemplate  `json:"trial"`
}

// TuningObjective is the metric the search optimizes: the last value a
// trial's run logged (by step) is the trial's value.
type TuningObjective struct {
	Metric    string   `json:"metric" maxLength:"250" doc:"an MLflow metric key the trials log"`
	Direction string   `json:"direction" enum:"minimize,maximize"`
	Goal      *float64 `json:"goal,omitempty" doc:"a trial reaching it (<= when minimizing, >= when maximizing) ends the search"`
}

// TuningParam is one dimension of the search space.
type TuningParam struct {
	Name string   `json:"name" maxLength:"64" doc:"a letter or _ then letters, digits, _"`
	Type string   `json:"type" enum:"int,float,categorical"`
	Min  *float64 `json:"min,omitempty" doc:"int, float: the lower bound (inclusive)"`
	Max  *float64 `json:"max,omitempty" doc:"int, float: the upper bound (inclusive)"`
	Log  bool     `json:"log,omitempty" doc:"int, float: sample on a log scale (bounds > 0)"`
	Step float64  `json:"step,omitempty" minimum:"0" doc:"int: the spacing of values (default 1); float: optional spacing"`
	// GridPoints is how many values of a float a grid tries (evenly spaced, geometrically with log).
	GridPoints int      `json:"gridPoints,omitempty" minimum:"0" maximum:"1000" doc:"grid, float without step: values tried (default 5)"`
	Values     []Choice `json:"values,omitempty" maxItems:"100" doc:"categorical: the choices"`
}

// Choice is a categorical value, written as text; YAML numbers and
// booleans are read as their text.
type Choice string

// UnmarshalJSON accepts a string, a number or a boolean.
func (c *Choice) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = Choice(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*c = Choice(n.String())
		return nil
	}
	var t bool
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	*c = Choice(strconv.FormatBool(t))
	return nil
}

// EarlyStopping is the median stopping rule (Optuna's MedianPruner): a
// running trial whose best intermediate value so far is worse than the
// median of the completed trials' values at the same step is cancelled and
// recorded as pruned.
type EarlyStopping struct {
	Type          string `json:"type" enum:"median"`
	StartupTrials int    `json:"startupTrials,omitempty" minimum:"0" maximum:"1000" doc:"completed trials before any is stopped (default 5)"`
	WarmupSteps   int64  `json:"warmupSteps,omitempty" minimum:"0" doc:"a trial is not stopped before this step (default 0)"`
	MinTrials     int    `json:"minTrials,omitempty" minimum:"0" maximum:"1000" doc:"completed trials with a value at the step needed to compare (default 1)"`
}

// TrialTemplate is the training job each trial runs.
type TrialTemplate struct {
	Image      string            `json:"image" maxLength:"512"`
	Command    []string          `json:"command" maxItems:"256"`
	Args       []string          `json:"args,omitempty" maxItems:"256"`
	Env        map[string]string `json:"env,omitempty"`
	Replicas   int32             `json:"replicas,omitempty" minimum:"0" maximum:"64"`
	Resources  Resources         `json:"resources,omitempty"`
	MaxRetries *int32            `json:"maxRetries,omitempty"`
}

// TuningState is where a tuning is in its life.
type TuningState string

// Tuning states.
const (
	TuningRunning   TuningState = "running"
	TuningSucceeded TuningState = "succeeded"
	TuningFailed    TuningState = "failed"
	TuningStopped   TuningState = "stopped"
)

// TrialState is where a trial is in its life.
type TrialState string

// Trial states. A pruned trial was stopped early by the median rule.
const (
	TrialRunning   TrialState = "running"
	TrialSucceeded TrialState = "succeeded"
	TrialFailed    TrialState = "failed"
	TrialPruned    TrialState = "pruned"
	TrialCancelled TrialState = "cancelled"
)

// Tuning is a tuning experiment with its progress.
type Tuning struct {
	Tenant       string      `json:"tenant"`
	Name         string      `json:"name"`
	Spec         TuningSpec  `json:"spec" doc:"defaults filled in"`
	State        TuningState `json:"state"`
	Reason       string      `json:"reason,omitempty"`
	ExperimentID string      `json:"experimentId"`
	RunID        string      `json:"runId" doc:"the tuning's tracking run; trials are its children"`
	Trials       TrialCounts `json:"trials"`
	Best         *Trial      `json:"best,omitempty"`
	CreatedBy    string      `json:"createdBy"`
	CreatedAt    time.Time   `json:"createdAt"`
	UpdatedAt    time.Time   `json:"updatedAt"`
	FinishedAt   *time.Time  `json:"finishedAt,omitempty"`
}

// TrialCounts counts a tuning's trials by state.
type TrialCounts struct {
	Total     int `json:"total"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Pruned    int `json:"pruned"`
	Cancelled int `json:"cancelled"`
}

// Trial is one suggestion of a tuning and the job that tried it.
type Trial struct {
	Number     int               `json:"number" doc:"0, 1, ... in the order suggested"`
	Params     map[string]string `json:"params" doc:"the values substituted, as text"`
	State      TrialState        `json:"state"`
	Reason     string            `json:"reason,omitempty"`
	Job        string            `json:"job"`
	RunID      string            `json:"runId,omitempty"`
	Value      *float64          `json:"value,omitempty" doc:"the objective: the last value logged"`
	Step       *int64            `json:"step,omitempty" doc:"the step of the last value"`
	CreatedAt  time.Time         `json:"createdAt"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
}
