package pipelines

import (
	"sort"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// Graph is a spec's DAG: each step's upstream steps, explicit (dependsOn)
// and implied (references to their outputs), in spec order.
type Graph struct {
	// Order is every step in spec order, main steps first, then finally steps.
	Order []string
	// Deps maps a step to its upstream steps (sorted).
	Deps map[string][]string
	// Finally marks the exit steps.
	Finally map[string]bool
	// Steps maps a name to its definition.
	Steps map[string]v1.Step
}

// NewGraph builds the DAG of a spec whose references parse (Validate
// calls it; a spec that fails there is refused before).
func NewGraph(spec v1.PipelineSpec) (*Graph, error) {
	g := &Graph{Deps: map[string][]string{}, Finally: map[string]bool{}, Steps: map[string]v1.Step{}}
	add := func(s v1.Step, finally bool) {
		g.Order = append(g.Order, s.Name)
		g.Finally[s.Name] = finally
		g.Steps[s.Name] = s
	}
	for _, s := range spec.Steps {
		add(s, false)
	}
	for _, s := range spec.Finally {
		add(s, true)
	}
	for _, name := range g.Order {
		s := g.Steps[name]
		set := map[string]bool{}
		for _, d := range s.DependsOn {
			set[d] = true
		}
		texts := append(append([]string{}, s.Args...), s.When)
		for _, v := range s.Env {
			texts = append(texts, v)
		}
		for _, v := range s.Inputs.Parameters {
			texts = append(texts, v)
		}
		for _, v := range s.Inputs.Artifacts {
			texts = append(texts, v)
		}
		if s.ParallelFor != nil {
			texts = append(texts, s.ParallelFor.Items)
		}
		for _, t := range texts {
			refs, err := Refs(t)
			if err != nil {
				return nil, err
			}
			for _, r := range refs {
				if r.Step != "" {
					set[r.Step] = true
				}
			}
		}
		deps := make([]string, 0, len(set))
		for d := range set {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		g.Deps[name] = deps
	}
	return g, nil
}

// Cycle is one dependency cycle among the steps (each depending on the
// next, the last on the first), or nil.
func (g *Graph) Cycle() []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		stack = append(stack, n)
		for _, d := range g.Deps[n] {
			if _, known := g.Steps[d]; !known {
				continue
			}
			switch color[d] {
			case grey:
				for i, s := range stack {
					if s == d {
						// stack[i:] is d → … → n, each depending on the next, n on d.
						found = append([]string{}, stack[i:]...)
						return true
					}
				}
			case white:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, n := range g.Order {
		if color[n] == white && visit(n) {
			return found
		}
	}
	return nil
}

// Downstream lists the steps that depend, directly or not, on any of from.
func (g *Graph) Downstream(from ...string) map[string]bool {
	out := map[string]bool{}
	changed := true
	for _, f := range from {
		out[f] = true
	}
	for changed {
		changed = false
		for _, n := range g.Order {
			if out[n] {
				continue
			}
			for _, d := range g.Deps[n] {
				if out[d] {
					out[n], changed = true, true
					break
				}
			}
		}
	}
	for _, f := range from {
		delete(out, f)
	}
	return out
}
