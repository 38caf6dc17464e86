package pipelines

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// FieldError is a spec fault at a JSON path (spec.steps[2].dependsOn[0]).
type FieldError struct {
	Path    string
	Message string
	Value   any
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Message }

func fault(path string, value any, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Message: fmt.Sprintf(format, args...), Value: value}
}

// Parse reads a spec from YAML or JSON text (unknown fields refused) and
// validates it. Errors are *FieldError with paths under root.
func Parse(root string, text []byte) (v1.PipelineSpec, error) {
	if len(text) > v1.MaxPipelineSpecBytes {
		return v1.PipelineSpec{}, fault(root, len(text), "the spec is %d bytes, more than the limit of %d", len(text), v1.MaxPipelineSpecBytes)
	}
	var spec v1.PipelineSpec
	if err := yaml.UnmarshalStrict(text, &spec); err != nil {
		return v1.PipelineSpec{}, fault(root, nil, "not a pipeline spec: %v", err)
	}
	return spec, Validate(root, &spec)
}

// Canonical is the spec as canonical JSON and its sha256 (the version's digest).
func Canonical(spec v1.PipelineSpec) ([]byte, string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// Size is the length of the spec's canonical JSON.
func Size(spec v1.PipelineSpec) int {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(spec)
	return buf.Len()
}

// Validate checks a spec; root prefixes the paths (body.spec). It fills
// nothing in: defaults are applied where a run starts.
func Validate(root string, spec *v1.PipelineSpec) error {
	if n := Size(*spec); n > v1.MaxPipelineSpecBytes {
		return fault(root, n, "the spec is %d bytes, more than the limit of %d", n, v1.MaxPipelineSpecBytes)
	}
	if spec.APIVersion != v1.PipelineAPIVersion {
		return fault(root+".apiVersion", spec.APIVersion, "must be %s", v1.PipelineAPIVersion)
	}
	if spec.Kind != v1.PipelineKind {
		return fault(root+".kind", spec.Kind, "must be %s", v1.PipelineKind)
	}
	params := map[string]v1.PipelineParam{}
	if len(spec.Parameters) > v1.MaxPipelineParameters {
		return fault(root+".parameters", len(spec.Parameters), "at most %d parameters", v1.MaxPipelineParameters)
	}
	for i, p := range spec.Parameters {
		path := fmt.Sprintf("%s.parameters[%d]", root, i)
		if err := validateParam(path, p); err != nil {
			return err
		}
		if _, dup := params[p.Name]; dup {
			return fault(path+".name", p.Name, "duplicate parameter %s", p.Name)
		}
		params[p.Name] = p
	}
	if len(spec.Steps) == 0 {
		return fault(root+".steps", nil, "a pipeline has at least one step")
	}
	if len(spec.Steps)+len(spec.Finally) > v1.MaxPipelineSteps {
		return fault(root+".steps", len(spec.Steps)+len(spec.Finally), "at most %d steps in all", v1.MaxPipelineSteps)
	}
	v := &validator{root: root, params: params, steps: map[string]*v1.Step{}, paths: map[string]string{}, finally: map[string]bool{}}
	for i := range spec.Steps {
		if err := v.declare(fmt.Sprintf("%s.steps[%d]", root, i), &spec.Steps[i], false); err != nil {
			return err
		}
	}
	for i := range spec.Finally {
		if err := v.declare(fmt.Sprintf("%s.finally[%d]", root, i), &spec.Finally[i], true); err != nil {
			return err
		}
	}
	for i := range spec.Steps {
		if err := v.step(fmt.Sprintf("%s.steps[%d]", root, i), &spec.Steps[i]); err != nil {
			return err
		}
	}
	for i := range spec.Finally {
		if err := v.step(fmt.Sprintf("%s.finally[%d]", root, i), &spec.Finally[i]); err != nil {
			return err
		}
	}
	g, err := NewGraph(*spec)
	if err != nil {
		return err
	}
	if cycle := g.Cycle(); cycle != nil {
		first := cycle[0]
		return fault(v.paths[first]+".dependsOn", strings.Join(cycle, " → "),
			"the steps %s depend on each other in a cycle (→: depends on)", strings.Join(append(cycle, first), " → "))
	}
	return nil
}

func validateParam(path string, p v1.PipelineParam) error {
	if !identifier.MatchString(p.Name) || len(p.Name) > 64 {
		return fault(path+".name", p.Name, "a parameter name is a letter or _ then letters, digits, _ or -, at most 64")
	}
	switch p.Type {
	case "", v1.ParamString, v1.ParamInt, v1.ParamFloat, v1.ParamBool, v1.ParamList:
	default:
		return fault(path+".type", p.Type, "must be one of string, int, float, bool, list")
	}
	if p.Default != nil {
		if _, err := ParamText(p.Type, p.Default); err != nil {
			return fault(path+".default", p.Default, "%v", err)
		}
	}
	return nil
}

// ParamText is a parameter value as the text steps see (lists as JSON),
// checked against its type.
func ParamText(t v1.ParamType, v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", err
		}
		s = string(b)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "", err
		}
		s = string(b)
	}
	return s, CheckParam(t, s)
}

// CheckParam says whether s is a value of type t.
func CheckParam(t v1.ParamType, s string) error {
	switch t {
	case "", v1.ParamString:
		return nil
	case v1.ParamInt:
		var n json.Number
		if json.Unmarshal([]byte(s), &n) != nil || strings.ContainsAny(s, ".eE") {
			return errors.New("not an int: " + s)
		}
	case v1.ParamFloat:
		var f float64
		if json.Unmarshal([]byte(s), &f) != nil {
			return errors.New("not a float: " + s)
		}
	case v1.ParamBool:
		if s != "true" && s != "false" {
			return errors.New("not a bool (true or false): " + s)
		}
	case v1.ParamList:
		if _, err := ListItems(s); err != nil {
			return err
		}
	}
	return nil
}

// ListItems reads a JSON list; each item is its text (strings unquoted).
func ListItems(s string) ([]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(s), &items); err != nil {
		return nil, fmt.Errorf("not a JSON list: %s", s)
	}
	out := make([]string, len(items))
	for i, it := range items {
		var str string
		if json.Unmarshal(it, &str) == nil {
			out[i] = str
		} else {
			out[i] = string(it)
		}
	}
	return out, nil
}
