package tuning

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"sigs.k8s.io/yaml"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// FieldError is a spec fault at a JSON path (body.spec.parameters[1].min).
type FieldError struct {
	Path    string
	Message string
	Value   any
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Message }

func fault(path string, value any, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Message: fmt.Sprintf(format, args...), Value: value}
}

// Defaults of a spec.
const (
	DefaultMaxTrials       = 10
	DefaultParallel        = 1
	DefaultMaxFailed       = 3
	DefaultGridPoints      = 5
	DefaultStartupTrials   = 5
	DefaultMinTrials       = 1
	defaultAlgorithm       = v1.AlgorithmTPE
	maxExactInt            = 1 << 53
	defaultTrialNameSuffix = "-t"
)

var (
	paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	dnsLabel  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// reference is ${params.NAME}; refStart finds every opening, so that a
	// malformed one (no closing brace, a bad name) is an error, not text.
	reference = regexp.MustCompile(`\$\{params\.([^}]*)\}`)
	refStart  = "${params."
)

// Parse reads a spec from YAML or JSON text (unknown fields refused),
// validates it and fills in its defaults. Errors are *FieldError with paths
// under root.
func Parse(root string, text []byte) (v1.TuningSpec, error) {
	if len(text) > v1.MaxTuningSpecBytes {
		return v1.TuningSpec{}, fault(root, len(text), "the spec is %d bytes, more than the limit of %d", len(text), v1.MaxTuningSpecBytes)
	}
	var spec v1.TuningSpec
	if err := yaml.UnmarshalStrict(text, &spec); err != nil {
		return v1.TuningSpec{}, fault(root, nil, "not a tuning spec: %v", err)
	}
	return spec, Validate(root, &spec)
}

// Validate checks a spec and fills in its defaults; root prefixes the
// paths (body.spec). Nothing of a spec that fails is used.
func Validate(root string, spec *v1.TuningSpec) error {
	if b, _ := json.Marshal(spec); len(b) > v1.MaxTuningSpecBytes {
		return fault(root, len(b), "the spec is %d bytes, more than the limit of %d", len(b), v1.MaxTuningSpecBytes)
	}
	if spec.APIVersion == "" {
		spec.APIVersion = v1.PipelineAPIVersion
	}
	if spec.APIVersion != v1.PipelineAPIVersion {
		return fault(root+".apiVersion", spec.APIVersion, "must be %s", v1.PipelineAPIVersion)
	}
	if spec.Kind == "" {
		spec.Kind = v1.TuningKind
	}
	if spec.Kind != v1.TuningKind {
		return fault(root+".kind", spec.Kind, "must be %s", v1.TuningKind)
	}
	switch {
	case spec.Name == "":
		return fault(root+".name", spec.Name, "a tuning needs a name")
	case len(spec.Name) > v1.MaxTuningName:
		return fault(root+".name", spec.Name, "at most %d characters (trial jobs are named %s-t<N>)", v1.MaxTuningName, spec.Name)
	case !dnsLabel.MatchString(spec.Name):
		return fault(root+".name", spec.Name, "%q is not a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit", spec.Name)
	}
	if why := v1.ReservedJob(TrialJobName(spec.Name, 0)); why != "" {
		return fault(root+".name", spec.Name, "trial jobs are named %s-t<N>: %s", spec.Name, why)
	}
	if err := validateObjective(root+".objective", spec.Objective); err != nil {
		return err
	}
	if err := validateSpace(root+".parameters", spec.Parameters); err != nil {
		return err
	}
	if spec.Algorithm == "" {
		spec.Algorithm = defaultAlgorithm
	}
	switch spec.Algorithm {
	case v1.AlgorithmRandom, v1.AlgorithmTPE:
	case v1.AlgorithmGrid:
		for i := range spec.Parameters {
			if p := &spec.Parameters[i]; p.Type == v1.TuningFloat && p.Step == 0 && p.GridPoints == 0 {
				p.GridPoints = DefaultGridPoints
			}
		}
		n, err := NewSpace(spec.Parameters).GridSize()
		if err != nil {
			return fault(root+".parameters", nil, "%v", err)
		}
		if spec.MaxTrials == 0 || spec.MaxTrials > n {
			spec.MaxTrials = min(n, v1.MaxTuningTrials)
		}
	default:
		return fault(root+".algorithm", spec.Algorithm, "must be one of random, grid, tpe")
	}
	if spec.MaxTrials == 0 {
		spec.MaxTrials = DefaultMaxTrials
	}
	if spec.MaxTrials < 1 || spec.MaxTrials > v1.MaxTuningTrials {
		return fault(root+".maxTrials", spec.MaxTrials, "must be between 1 and %d", v1.MaxTuningTrials)
	}
	if spec.ParallelTrials == 0 {
		spec.ParallelTrials = DefaultParallel
	}
	if spec.ParallelTrials < 1 || spec.ParallelTrials > v1.MaxTuningParallel {
		return fault(root+".parallelTrials", spec.ParallelTrials, "must be between 1 and %d", v1.MaxTuningParallel)
	}
	if spec.MaxFailedTrials == nil {
		spec.MaxFailedTrials = new(DefaultMaxFailed)
	}
	if f := *spec.MaxFailedTrials; f < 0 || f > v1.MaxTuningTrials {
		return fault(root+".maxFailedTrials", f, "must be between 0 and %d", v1.MaxTuningTrials)
	}
	if es := spec.EarlyStopping; es != nil {
		if es.Type != v1.EarlyStoppingMedian {
			return fault(root+".earlyStopping.type", es.Type, "must be median (the median stopping rule)")
		}
		if es.StartupTrials == 0 {
			es.StartupTrials = DefaultStartupTrials
		}
		if es.MinTrials == 0 {
			es.MinTrials = DefaultMinTrials
		}
		if es.StartupTrials < 0 || es.StartupTrials > v1.MaxTuningTrials || es.MinTrials < 0 || es.MinTrials > v1.MaxTuningTrials {
			return fault(root+".earlyStopping", nil, "startupTrials and minTrials are between 0 and %d", v1.MaxTuningTrials)
		}
		if es.WarmupSteps < 0 {
			return fault(root+".earlyStopping.warmupSteps", es.WarmupSteps, "must not be negative")
		}
	}
	if strings.TrimSpace(spec.Experiment) != spec.Experiment || strings.ContainsFunc(spec.Experiment, unicode.IsControl) || len(spec.Experiment) > 500 {
		return fault(root+".experiment", spec.Experiment, "an experiment name has at most 500 characters, no control characters and no leading or trailing spaces")
	}
	if spec.Experiment == "" {
		spec.Experiment = spec.Name
	}
	return validateTemplate(root+".trial", spec.Trial, spec.Parameters)
}

func validateObjective(path string, o v1.TuningObjective) error {
	if o.Metric == "" || len(o.Metric) > 250 || strings.ContainsFunc(o.Metric, unicode.IsControl) {
		return fault(path+".metric", o.Metric, "the objective is an MLflow metric key: 1 to 250 characters, no control characters")
	}
	if o.Direction != v1.Minimize && o.Direction != v1.Maximize {
		return fault(path+".direction", o.Direction, "must be minimize or maximize")
	}
	if o.Goal != nil && (math.IsNaN(*o.Goal) || math.IsInf(*o.Goal, 0)) {
		return fault(path+".goal", nil, "must be a finite number")
	}
	return nil
}

func validateSpace(path string, params []v1.TuningParam) error {
	if len(params) == 0 {
		return fault(path, nil, "the search space is empty: give at least one parameter")
	}
	if len(params) > v1.MaxTuningParams {
		return fault(path, len(params), "at most %d parameters", v1.MaxTuningParams)
	}
	seen := map[string]bool{}
	for i, p := range params {
		at := fmt.Sprintf("%s[%d]", path, i)
		if !paramName.MatchString(p.Name) || len(p.Name) > v1.MaxTuningParamName {
			return fault(at+".name", p.Name, "a parameter name is a letter or _ then letters, digits or _, at most %d", v1.MaxTuningParamName)
		}
		if seen[p.Name] {
			return fault(at+".name", p.Name, "duplicate parameter %s", p.Name)
		}
		seen[p.Name] = true
		if err := validateParam(at, p); err != nil {
			return err
		}
	}
	return nil
}

func validateParam(at string, p v1.TuningParam) error {
	switch p.Type {
	case v1.TuningInt, v1.TuningFloat:
		if len(p.Values) > 0 {
			return fault(at+".values", p.Values, "values are for categorical parameters; %s takes min and max", p.Type)
		}
		if p.Min == nil || p.Max == nil {
			return fault(at+".min", nil, "a %s parameter needs min and max", p.Type)
		}
		lo, hi := *p.Min, *p.Max
		for _, b := range []struct {
			name string
			v    float64
		}{{"min", lo}, {"max", hi}} {
			if math.IsNaN(b.v) || math.IsInf(b.v, 0) || math.Abs(b.v) > maxExactInt {
				return fault(at+"."+b.name, b.v, "must be a finite number of magnitude at most 2^53")
			}
			if p.Type == v1.TuningInt && b.v != math.Trunc(b.v) {
				return fault(at+"."+b.name, b.v, "an int parameter's bounds are whole numbers")
			}
		}
		if lo > hi {
			return fault(at+".min", lo, "min (%v) is greater than max (%v)", lo, hi)
		}
		if p.Log && lo <= 0 {
			return fault(at+".min", lo, "a log-scale parameter needs bounds > 0, min is %v", lo)
		}
		if math.IsNaN(p.Step) || math.IsInf(p.Step, 0) || p.Step < 0 {
			return fault(at+".step", p.Step, "must be a positive number")
		}
		if p.Step > 0 && p.Log {
			return fault(at+".step", p.Step, "step and log do not go together")
		}
		if p.Type == v1.TuningInt && p.Step != math.Trunc(p.Step) {
			return fault(at+".step", p.Step, "an int parameter's step is a whole number")
		}
		if p.Type == v1.TuningInt && p.GridPoints > 0 {
			return fault(at+".gridPoints", p.GridPoints, "gridPoints is for float parameters; an int's grid is every step from min to max")
		}
		if p.GridPoints < 0 || p.GridPoints > v1.MaxTuningGridPoints {
			return fault(at+".gridPoints", p.GridPoints, "must be between 1 and %d", v1.MaxTuningGridPoints)
		}
	case v1.TuningCategorical:
		if p.Min != nil || p.Max != nil || p.Log || p.Step != 0 || p.GridPoints != 0 {
			return fault(at+".type", p.Type, "a categorical parameter takes values only (no min, max, log, step, gridPoints)")
		}
		if len(p.Values) == 0 {
			return fault(at+".values", nil, "a categorical parameter needs at least one value")
		}
		if len(p.Values) > v1.MaxTuningChoices {
			return fault(at+".values", len(p.Values), "at most %d values", v1.MaxTuningChoices)
		}
		for j, v := range p.Values {
			if v == "" || len(v) > v1.MaxTuningChoiceLen || strings.ContainsFunc(string(v), unicode.IsControl) {
				return fault(fmt.Sprintf("%s.values[%d]", at, j), v, "a value is 1 to %d characters without control characters", v1.MaxTuningChoiceLen)
			}
			if slices.Contains(p.Values[:j], v) {
				return fault(fmt.Sprintf("%s.values[%d]", at, j), v, "duplicate value %s", v)
			}
		}
	default:
		return fault(at+".type", p.Type, "must be one of int, float, categorical")
	}
	return nil
}

// validateTemplate checks the references of a trial template: ${params.NAME}
// only in command, args and env values, NAME defined, and every parameter
// used (one that is not would change nothing).
func validateTemplate(path string, t v1.TrialTemplate, params []v1.TuningParam) error {
	defined := map[string]bool{}
	for _, p := range params {
		defined[p.Name] = true
	}
	used := map[string]bool{}
	if strings.Contains(t.Image, refStart) {
		return fault(path+".image", t.Image, "${params.NAME} is substituted in command, args and env values only")
	}
	check := func(at, s string) error {
		if n := strings.Count(s, refStart); n != len(reference.FindAllStringIndex(s, -1)) {
			return fault(at, s, "a reference is written ${params.NAME} (a closing brace is missing)")
		}
		for _, m := range reference.FindAllStringSubmatch(s, -1) {
			if !defined[m[1]] {
				return fault(at, s, "%s references parameter %q, which the search space does not define (defined: %s)", m[0], m[1], strings.Join(names(params), ", "))
			}
			used[m[1]] = true
		}
		return nil
	}
	for i, s := range t.Command {
		if err := check(fmt.Sprintf("%s.command[%d]", path, i), s); err != nil {
			return err
		}
	}
	for i, s := range t.Args {
		if err := check(fmt.Sprintf("%s.args[%d]", path, i), s); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(t.Env))
	for k := range t.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.Contains(k, refStart) {
			return fault(path+".env", k, "${params.NAME} is substituted in env values, not names")
		}
		if err := check(path+".env."+k, t.Env[k]); err != nil {
			return err
		}
	}
	for i, p := range params {
		if !used[p.Name] {
			return fault(fmt.Sprintf("%s[%d].name", strings.TrimSuffix(path, ".trial")+".parameters", i), p.Name,
				"parameter %s is not used by the trial template: reference it as ${params.%s} in its command, args or env", p.Name, p.Name)
		}
	}
	return nil
}

func names(params []v1.TuningParam) []string {
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = p.Name
	}
	return out
}

// Substitute is the template with ${params.NAME} replaced by the values.
func Substitute(t v1.TrialTemplate, values map[string]string) v1.TrialTemplate {
	sub := func(s string) string {
		return reference.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := values[reference.FindStringSubmatch(m)[1]]; ok {
				return v
			}
			return m
		})
	}
	out := t
	out.Command = make([]string, len(t.Command))
	for i, s := range t.Command {
		out.Command[i] = sub(s)
	}
	if t.Args != nil {
		out.Args = make([]string, len(t.Args))
		for i, s := range t.Args {
			out.Args[i] = sub(s)
		}
	}
	if t.Env != nil {
		out.Env = make(map[string]string, len(t.Env))
		for k, v := range t.Env {
			out.Env[k] = sub(v)
		}
	}
	return out
}

// TrialJobName is the job of trial n of a tuning.
func TrialJobName(tuning string, n int) string {
	return fmt.Sprintf("%s%s%d", tuning, defaultTrialNameSuffix, n)
}
