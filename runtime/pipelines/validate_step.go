package pipelines

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

var (
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	dnsLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	whenExpr   = regexp.MustCompile(`^\s*(\{\{[^{}]*\}\})\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*$`)
)

// Failure kinds a retry policy may name.
var retryOn = map[string]bool{"error": true, "oom": true, "timeout": true, "evicted": true}

type validator struct {
	root    string
	params  map[string]v1.PipelineParam
	steps   map[string]*v1.Step
	paths   map[string]string
	finally map[string]bool
}

func (v *validator) declare(path string, s *v1.Step, finally bool) error {
	if s.Name == "" || len(s.Name) > v1.MaxStepName || !dnsLabel.MatchString(s.Name) {
		return fault(path+".name", s.Name, "a step name is a DNS-1123 label of at most %d characters", v1.MaxStepName)
	}
	if other, dup := v.paths[s.Name]; dup {
		return fault(path+".name", s.Name, "duplicate step name %s (also %s)", s.Name, other)
	}
	v.steps[s.Name], v.paths[s.Name], v.finally[s.Name] = s, path, finally
	return nil
}

func (v *validator) step(path string, s *v1.Step) error {
	if _, err := name.ParseReference(s.Image); err != nil || s.Image == "" {
		return fault(path+".image", s.Image, "not an image reference (examples: ferry.local/workload:1, registry.example/img@sha256:…)")
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return fault(path+".command", s.Command, "must be a non-empty list, the program first")
	}
	if err := v.resources(path+".resources", s.Resources); err != nil {
		return err
	}
	if err := v.outputs(path+".outputs", s.Outputs); err != nil {
		return err
	}
	for i, a := range s.Args {
		if err := v.paramText(fmt.Sprintf("%s.args[%d]", path, i), s, a); err != nil {
			return err
		}
	}
	if len(s.Env) > 256 {
		return fault(path+".env", len(s.Env), "at most 256 variables")
	}
	for _, k := range sortedKeys(s.Env) {
		p := path + ".env." + k
		switch {
		case !envName.MatchString(k) || len(k) > 256:
			return fault(p, k, "%q is not an environment variable name", k)
		case strings.HasPrefix(strings.ToUpper(k), "FERRY_"), strings.HasPrefix(strings.ToUpper(k), "MLFLOW_"):
			return fault(p, k, "FERRY_* and MLFLOW_* are set by ferry")
		}
		if err := v.paramText(p, s, s.Env[k]); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(s.Inputs.Parameters) {
		if !identifier.MatchString(k) {
			return fault(path+".inputs.parameters."+k, k, "an input name is a letter or _ then letters, digits, _ or -")
		}
		if err := v.paramText(path+".inputs.parameters."+k, s, s.Inputs.Parameters[k]); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(s.Inputs.Artifacts) {
		if err := v.artifactInput(path+".inputs.artifacts."+k, s, k, s.Inputs.Artifacts[k]); err != nil {
			return err
		}
	}
	for i, d := range s.DependsOn {
		if err := v.upstream(fmt.Sprintf("%s.dependsOn[%d]", path, i), s, d); err != nil {
			return err
		}
	}
	if err := v.retries(path+".retries", s.Retries); err != nil {
		return err
	}
	if err := positiveDuration(path+".timeout", s.Timeout); err != nil {
		return err
	}
	if err := positiveDuration(path+".cacheMaxAge", s.CacheMaxAge); err != nil {
		return err
	}
	if s.ParallelFor != nil {
		if err := v.parallelFor(path+".parallelFor", s); err != nil {
			return err
		}
	}
	if s.When != "" {
		m := whenExpr.FindStringSubmatch(s.When)
		if m == nil {
			return fault(path+".when", s.When, "a condition is '{{ref}} OP value' with OP one of == != < <= > >=")
		}
		if err := v.paramText(path+".when", s, m[1]); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) resources(path string, r v1.Resources) error {
	for _, q := range []struct{ field, val, min, max string }{{"cpu", r.CPU, v1.MinCPU, v1.MaxCPU}, {"memory", r.Memory, v1.MinMemory, v1.MaxMemory}} {
		if q.val == "" {
			continue
		}
		x, err := resource.ParseQuantity(q.val)
		if err != nil || x.Cmp(resource.MustParse(q.min)) < 0 || x.Cmp(resource.MustParse(q.max)) > 0 {
			return fault(path+"."+q.field, q.val, "a Kubernetes quantity between %s and %s", q.min, q.max)
		}
	}
	if r.GPU < 0 || r.GPU > v1.MaxGPU {
		return fault(path+".gpu", r.GPU, "must be between 0 and %d", v1.MaxGPU)
	}
	return nil
}

func (v *validator) outputs(path string, o v1.StepOutputs) error {
	seen := map[string]string{}
	for kind, names := range map[string][]string{"artifacts": o.Artifacts, "parameters": o.Parameters, "metrics": o.Metrics} {
		for i, n := range names {
			p := fmt.Sprintf("%s.%s[%d]", path, kind, i)
			if !identifier.MatchString(n) || len(n) > 64 || n == "parameters" || n == "metrics" {
				return fault(p, n, "an output name is a letter or _ then letters, digits, _ or -, at most 64 (not parameters or metrics)")
			}
			if other, dup := seen[n]; dup && other != kind+" "+n {
				return fault(p, n, "duplicate output %s", n)
			}
			seen[n] = kind + " " + n
		}
	}
	return nil
}

// upstream checks that s may depend on step d.
func (v *validator) upstream(path string, s *v1.Step, d string) error {
	up, ok := v.steps[d]
	switch {
	case !ok:
		return fault(path, d, "unknown step %s", d)
	case up == s:
		return fault(path, d, "step %s depends on itself", d)
	case v.finally[d] && !v.finally[s.Name]:
		return fault(path, d, "%s is a finally step: only other finally steps may use it", d)
	case v.finally[d]:
		return fault(path, d, "finally steps run together once the others ended; %s cannot wait for %s", s.Name, d)
	}
	return nil
}

// paramText checks the references of a text that becomes a parameter value.
func (v *validator) paramText(path string, s *v1.Step, text string) error {
	refs, err := Refs(text)
	if err != nil {
		return fault(path, text, "%v", err)
	}
	for _, r := range refs {
		switch r.Kind {
		case RefParam:
			if _, ok := v.params[r.Name]; !ok {
				return fault(path, r.Raw, "unknown pipeline parameter %s", r.Name)
			}
		case RefItem:
			if s.ParallelFor == nil {
				return fault(path, r.Raw, "{{item}} is only defined in a step with parallelFor")
			}
		case RefStepArtifact:
			if err := v.upstream(path, s, r.Step); err != nil {
				return err
			}
			return fault(path, r.Raw, "%s is an artifact, wired to a parameter: pass it under inputs.artifacts", r.Raw)
		case RefStepParam:
			if err := v.upstream(path, s, r.Step); err != nil {
				return err
			}
			if !contains(v.steps[r.Step].Outputs.Parameters, r.Name) {
				if contains(v.steps[r.Step].Outputs.Artifacts, r.Name) {
					return fault(path, r.Raw, "%s is an artifact of step %s, wired to a parameter: pass it under inputs.artifacts as {{steps.%s.outputs.artifacts.%s}}", r.Name, r.Step, r.Step, r.Name)
				}
				return fault(path, r.Raw, "step %s has no output parameter %s", r.Step, r.Name)
			}
		}
	}
	return nil
}

func (v *validator) artifactInput(path string, s *v1.Step, k, text string) error {
	if !identifier.MatchString(k) {
		return fault(path, k, "an input name is a letter or _ then letters, digits, _ or -")
	}
	r, err := onlyRef(text)
	if err != nil {
		return fault(path, text, "%v", err)
	}
	if r.Kind != RefStepArtifact {
		return fault(path, text, "an artifact input is {{steps.STEP.outputs.artifacts.NAME}}; %s is a parameter, wired to an artifact", r.Raw)
	}
	if err := v.upstream(path, s, r.Step); err != nil {
		return err
	}
	up := v.steps[r.Step]
	if !contains(up.Outputs.Artifacts, r.Name) {
		if contains(up.Outputs.Parameters, r.Name) {
			return fault(path, text, "%s is a parameter of step %s, wired to an artifact", r.Name, r.Step)
		}
		return fault(path, text, "step %s has no output artifact %s", r.Step, r.Name)
	}
	if up.ParallelFor != nil {
		return fault(path, text, "step %s fans out: its artifacts are per item and cannot be one input", r.Step)
	}
	return nil
}

func (v *validator) retries(path string, r *v1.RetryPolicy) error {
	if r == nil {
		return nil
	}
	if r.Limit < 0 || r.Limit > 20 {
		return fault(path+".limit", r.Limit, "must be between 0 and 20")
	}
	for i, on := range r.OnFailures {
		if !retryOn[on] {
			return fault(fmt.Sprintf("%s.onFailures[%d]", path, i), on, "must be one of error, oom, timeout, evicted")
		}
	}
	if b := r.Backoff; b != nil {
		if err := positiveDuration(path+".backoff.initial", b.Initial); err != nil {
			return err
		}
		if err := positiveDuration(path+".backoff.max", b.Max); err != nil {
			return err
		}
		if b.Factor != 0 && (b.Factor < 1 || b.Factor > 10) {
			return fault(path+".backoff.factor", b.Factor, "must be between 1 and 10")
		}
	}
	return nil
}

func (v *validator) parallelFor(path string, s *v1.Step) error {
	pf := s.ParallelFor
	r, err := onlyRef(pf.Items)
	if err != nil {
		return fault(path+".items", pf.Items, "%v", err)
	}
	switch r.Kind {
	case RefParam:
		p, ok := v.params[r.Name]
		if !ok {
			return fault(path+".items", pf.Items, "unknown pipeline parameter %s", r.Name)
		}
		if p.Type != v1.ParamList {
			return fault(path+".items", pf.Items, "parameter %s is a %s, not a list", r.Name, orString(p.Type))
		}
	case RefStepParam:
		if err := v.paramText(path+".items", s, pf.Items); err != nil {
			return err
		}
	default:
		return fault(path+".items", pf.Items, "fan out over {{params.NAME}} (a list) or {{steps.STEP.outputs.parameters.NAME}}")
	}
	if pf.Parallelism < 0 || pf.Parallelism > v1.MaxParallelFor {
		return fault(path+".parallelism", pf.Parallelism, "must be between 0 and %d", v1.MaxParallelFor)
	}
	return nil
}

func positiveDuration(path, s string) error {
	if s == "" {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fault(path, s, "a positive Go duration (30s, 10m, 2h)")
	}
	return nil
}

func orString(t v1.ParamType) v1.ParamType {
	if t == "" {
		return v1.ParamString
	}
	return t
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
