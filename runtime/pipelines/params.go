package pipelines

import (
	"sort"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// MaxParamValue bounds one parameter value given at submit.
const MaxParamValue = 6000

// ResolveParams checks the values given at submit against the spec's
// parameters and fills in defaults. Faults are at root.<name>
// (body.parameters.lr): an unknown name, a value of the wrong type, a
// required parameter missing.
func ResolveParams(root string, spec v1.PipelineSpec, given map[string]string) (map[string]string, error) {
	declared := map[string]v1.PipelineParam{}
	for _, p := range spec.Parameters {
		declared[p.Name] = p
	}
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	sort.Strings(names)
	out := map[string]string{}
	for _, k := range names {
		p, ok := declared[k]
		if !ok {
			return nil, fault(root+"."+k, k, "the pipeline has no parameter %s", k)
		}
		v := given[k]
		if len(v) > MaxParamValue {
			return nil, fault(root+"."+k, len(v), "a parameter value is at most %d bytes", MaxParamValue)
		}
		if err := CheckParam(p.Type, v); err != nil {
			return nil, fault(root+"."+k, v, "%v", err)
		}
		out[k] = v
	}
	for _, p := range spec.Parameters {
		if _, ok := out[p.Name]; ok {
			continue
		}
		if p.Default == nil {
			return nil, fault(root+"."+p.Name, nil, "the required parameter %s is missing", p.Name)
		}
		v, err := ParamText(p.Type, p.Default)
		if err != nil {
			return nil, fault(root+"."+p.Name, p.Default, "%v", err)
		}
		out[p.Name] = v
	}
	return out, nil
}
