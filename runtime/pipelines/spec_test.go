package pipelines

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// base is a valid spec: prepare → train (fan-out over lrs) → pick, and a finally step.
const base = `apiVersion: ferry.dev/v1
kind: Pipeline
parameters:
  - {name: lrs, type: list, default: [0.1, 0.2, 0.3]}
  - {name: rows, type: int, default: 100}
  - {name: label}
steps:
  - name: prepare
    image: ferry.local/workload:1
    command: [python3, prep.py]
    args: ["--rows={{params.rows}}"]
    outputs: {artifacts: [data], parameters: [count]}
  - name: train
    image: ferry.local/workload:1
    command: [python3, train.py]
    args: ["--lr={{item}}"]
    inputs: {artifacts: {data: "{{steps.prepare.outputs.artifacts.data}}"}}
    outputs: {parameters: [score], metrics: [accuracy]}
    parallelFor: {items: "{{params.lrs}}", parallelism: 2}
    retries: {limit: 2, backoff: {initial: 1s, factor: 2, max: 10s}}
  - name: pick
    image: ferry.local/workload:1
    command: [python3, pick.py]
    inputs: {parameters: {scores: "{{steps.train.outputs.parameters.score}}"}}
    when: "{{steps.prepare.outputs.parameters.count}} > 0"
finally:
  - name: notify
    image: ferry.local/workload:1
    command: [echo, done]
`

func TestValidSpecParsesWithImpliedDependencies(t *testing.T) {
	spec, err := Parse("body.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGraph(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(g.Deps["train"], g.Deps["pick"], g.Deps["prepare"]); got != "[prepare] [prepare train] []" {
		t.Fatalf("deps = %s", got)
	}
	if !g.Finally["notify"] || g.Finally["pick"] {
		t.Fatalf("finally = %v", g.Finally)
	}
	if d := g.Downstream("prepare"); !d["train"] || !d["pick"] || d["prepare"] || d["notify"] {
		t.Fatalf("downstream of prepare = %v", d)
	}
}

// Each case edits the base spec (old → new) and must fail at one path.
var invalid = []struct{ name, old, new string }{
	{"wrong apiVersion", "ferry.dev/v1", "argoproj.io/v1alpha1"},
	{"wrong kind", "kind: Pipeline", "kind: Workflow"},
	{"unknown field", "    image: ferry.local/workload:1\n    command: [echo, done]", "    image: ferry.local/workload:1\n    command: [echo, done]\n    sidecar: true"},
	{"duplicate step", "name: pick", "name: train"},
	{"step name not a label", "name: pick", "name: Pick_Best"},
	{"cycle", "    command: [python3, prep.py]", "    command: [python3, prep.py]\n    dependsOn: [pick]"},
	{"self dependency", "    command: [python3, pick.py]", "    command: [python3, pick.py]\n    dependsOn: [pick]"},
	{"unknown step in dependsOn", "    command: [python3, pick.py]", "    command: [python3, pick.py]\n    dependsOn: [evaluate]"},
	{"unknown step in reference", "{{steps.train.outputs.parameters.score}}", "{{steps.tune.outputs.parameters.score}}"},
	{"unknown output parameter", "{{steps.train.outputs.parameters.score}}", "{{steps.train.outputs.parameters.loss}}"},
	{"unknown output artifact", "{{steps.prepare.outputs.artifacts.data}}", "{{steps.prepare.outputs.artifacts.dataset}}"},
	{"artifact wired to a parameter", "{{steps.train.outputs.parameters.score}}", "{{steps.prepare.outputs.artifacts.data}}"},
	{"artifact reference in env", "    command: [python3, pick.py]", "    command: [python3, pick.py]\n    env: {DATA: \"{{steps.prepare.outputs.artifacts.data}}\"}"},
	{"parameter wired to an artifact", "{{steps.prepare.outputs.artifacts.data}}", "{{steps.prepare.outputs.parameters.count}}"},
	{"unknown pipeline parameter", "{{params.rows}}", "{{params.columns}}"},
	{"item outside parallelFor", "{{params.rows}}", "{{item}}"},
	{"fan-out over a non-list", `items: "{{params.lrs}}"`, `items: "{{params.rows}}"`},
	{"bad default", "default: 100", "default: lots"},
	{"bad reference", "{{params.rows}}", "{{rows}}"},
	{"bad when", "{{steps.prepare.outputs.parameters.count}} > 0", "count is positive"},
	{"bad timeout", "retries: {limit: 2,", "timeout: soon\n    retries: {limit: 2,"},
	{"retry limit", "limit: 2", "limit: 99"},
	{"retry on", "limit: 2,", "limit: 2, onFailures: [panic],"},
	{"backoff factor", "factor: 2", "factor: 0.5"},
	{"reserved env", `args: ["--rows={{params.rows}}"]`, `args: ["--rows={{params.rows}}"]` + "\n    env: {FERRY_TOKEN: x}"},
	{"empty command", "command: [echo, done]", "command: []"},
	{"bad image", "image: ferry.local/workload:1\n    command: [echo, done]", "image: 'UPPER CASE'\n    command: [echo, done]"},
	{"cpu out of bounds", "command: [echo, done]", "command: [echo, done]\n    resources: {cpu: '5000'}"},
	{"finally step used by a main step", "{{steps.train.outputs.parameters.score}}", "{{steps.notify.outputs.parameters.score}}"},
	{"duplicate parameter", "{name: label}", "{name: rows}"},
}

func TestInvalidSpecsFailAtTheirPath(t *testing.T) {
	var got strings.Builder
	for _, c := range invalid {
		if !strings.Contains(base, c.old) {
			t.Fatalf("%s: %q is not in the base spec", c.name, c.old)
		}
		text := strings.Replace(base, c.old, c.new, 1)
		_, err := Parse("body.yaml", []byte(text))
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a *FieldError", c.name, err)
			continue
		}
		fmt.Fprintf(&got, "%s\n\t%s\n", c.name, fe.Error())
	}
	golden := filepath.Join("testdata", "invalid.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("errors differ from %s (rerun with -update after checking):\n%s", golden, got.String())
	}
}

func TestSpecOverTheSizeLimitIsRefused(t *testing.T) {
	big := base + "description: " + strings.Repeat("x", 300<<10) + "\n"
	_, err := Parse("body.yaml", []byte(big))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "body.yaml" || !strings.Contains(fe.Message, "limit") {
		t.Fatalf("err = %v", err)
	}
}

func TestSpecWithoutStepsIsRefused(t *testing.T) {
	_, err := Parse("body.spec", []byte(`{"apiVersion": "ferry.dev/v1", "kind": "Pipeline", "steps": []}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "body.spec.steps" {
		t.Fatalf("err = %v", err)
	}
}
