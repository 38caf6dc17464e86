package pipelines

import (
	"fmt"
	"regexp"
	"strings"
)

// RefKind is what a {{...}} reference names.
type RefKind int

// Reference kinds.
const (
	RefParam RefKind = iota + 1
	RefStepParam
	RefStepArtifact
	RefItem
)

// Ref is one parsed {{...}} reference.
type Ref struct {
	Kind RefKind
	// Step is the upstream step (RefStepParam, RefStepArtifact).
	Step string
	// Name is the parameter, output parameter or artifact.
	Name string
	// Raw is the reference as written, braces included.
	Raw string
}

var refPattern = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// parseRef reads the inside of one {{...}}.
func parseRef(raw, inner string) (Ref, error) {
	parts := strings.Split(inner, ".")
	switch {
	case inner == "item":
		return Ref{Kind: RefItem, Raw: raw}, nil
	case len(parts) == 2 && parts[0] == "params" && parts[1] != "":
		return Ref{Kind: RefParam, Name: parts[1], Raw: raw}, nil
	case len(parts) == 5 && parts[0] == "steps" && parts[2] == "outputs" && parts[4] != "":
		switch parts[3] {
		case "parameters":
			return Ref{Kind: RefStepParam, Step: parts[1], Name: parts[4], Raw: raw}, nil
		case "artifacts":
			return Ref{Kind: RefStepArtifact, Step: parts[1], Name: parts[4], Raw: raw}, nil
		}
	}
	return Ref{}, fmt.Errorf("%s is not a reference: write {{params.NAME}}, {{steps.STEP.outputs.parameters.NAME}}, {{steps.STEP.outputs.artifacts.NAME}} or {{item}}", raw)
}

// Refs lists the references in s, in order.
func Refs(s string) ([]Ref, error) {
	var out []Ref
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		r, err := parseRef(m[0], m[1])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if rest := refPattern.ReplaceAllString(s, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return nil, fmt.Errorf("unbalanced {{ }} in %q", s)
	}
	return out, nil
}

// onlyRef parses s as exactly one reference and nothing else.
func onlyRef(s string) (Ref, error) {
	m := refPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || m[0] != strings.TrimSpace(s) {
		return Ref{}, fmt.Errorf("%q must be exactly one {{...}} reference", s)
	}
	return parseRef(m[0], m[1])
}

// Substitute replaces every reference in s by what resolve answers.
func Substitute(s string, resolve func(Ref) (string, error)) (string, error) {
	var err error
	out := refPattern.ReplaceAllStringFunc(s, func(raw string) string {
		if err != nil {
			return ""
		}
		m := refPattern.FindStringSubmatch(raw)
		r, perr := parseRef(raw, m[1])
		if perr != nil {
			err = perr
			return ""
		}
		v, rerr := resolve(r)
		if rerr != nil {
			err = rerr
			return ""
		}
		return v
	})
	return out, err
}
