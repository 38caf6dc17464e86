package api

import (
	"strings"
	"testing"
)

const tuningYAML = `apiVersion: ferry.dev/v1
kind: Tuning
name: svm
objective: {metric: accuracy, direction: maximize, goal: 0.99}
algorithm: tpe
maxTrials: 12
parallelTrials: 3
earlyStopping: {type: median}
parameters:
  - {name: C, type: float, min: 0.01, max: 100, log: true}
  - {name: gamma, type: float, min: 0.0001, max: 1, log: true}
  - {name: kernel, type: categorical, values: [rbf, 3]}
trial:
  image: ferry.local/workload:1
  command: [python3, /opt/ferry/examples/sklearn_tune.py]
  args: ["--C=${params.C}", "--gamma=${params.gamma}", "--kernel=${params.kernel}"]
`

func TestTuningCreateValidatesNamingTheFieldAndStoresNothingWhenRefused(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	base := "/api/v1/tenants/ml/tunings"
	var last int64
	for _, a := range e.audit() {
		last = max(last, a.ID)
	}
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"min above max", strings.Replace(tuningYAML, "min: 0.01, max: 100", "min: 100, max: 0.01", 1), "body.yaml.parameters[0].min"},
		{"log of a non-positive bound", strings.Replace(tuningYAML, "min: 0.0001", "min: 0", 1), "body.yaml.parameters[1].min"},
		{"empty space", strings.Replace(strings.Replace(tuningYAML, `"--C=${params.C}", "--gamma=${params.gamma}", "--kernel=${params.kernel}"`, "", 1),
			"parameters:\n  - {name: C, type: float, min: 0.01, max: 100, log: true}\n  - {name: gamma, type: float, min: 0.0001, max: 1, log: true}\n  - {name: kernel, type: categorical, values: [rbf, 3]}\n", "parameters: []\n", 1), "body.yaml.parameters"},
		{"undefined parameter", strings.Replace(tuningYAML, "${params.gamma}", "${params.gama}", 1), "body.yaml.trial.args[1]"},
		{"unclosed reference", strings.Replace(tuningYAML, "${params.gamma}", "${params.gamma", 1), "body.yaml.trial.args[1]"},
		{"too many trials", strings.Replace(tuningYAML, "maxTrials: 12", "maxTrials: 1001", 1), "body.yaml.maxTrials"},
		{"too many in parallel", strings.Replace(tuningYAML, "parallelTrials: 3", "parallelTrials: 51", 1), "body.yaml.parallelTrials"},
		{"no direction", strings.Replace(tuningYAML, "direction: maximize", "direction: up", 1), "body.yaml.objective.direction"},
		{"reserved env", tuningYAML + "  env: {MLFLOW_RUN_ID: x}\n", "body.yaml.trial.env"},
		{"beyond the quota", tuningYAML + "  resources: {cpu: \"8\"}\n", "body.yaml.trial.resources.cpu"},
		{"bad name", strings.Replace(tuningYAML, "name: svm", "name: SVM_1", 1), "body.yaml.name"},
		{"name too long for its trial jobs", strings.Replace(tuningYAML, "name: svm", "name: "+strings.Repeat("a", 47), 1), "body.yaml.name"},
		{"unknown field", tuningYAML + "sidecar: true\n", "body.yaml"},
	} {
		r := e.must(422, "POST", base, tok, map[string]any{"yaml": c.yaml})
		if got := problemAt(t, r); got != c.want {
			t.Errorf("%s: location %s, want %s: %s", c.name, got, c.want, r.raw)
		}
	}
	if lst := e.must(200, "GET", base, tok, nil); len(lst.body["items"].([]any)) != 0 {
		t.Errorf("a refused spec was stored: %s", lst.raw)
	}
	for _, a := range e.audit() {
		if a.ID > last && a.Result == "ok" {
			t.Errorf("a refused create wrote an ok audit row: %+v", a)
		}
	}

	r := e.must(201, "POST", base, tok, map[string]any{"yaml": tuningYAML})
	spec := r.body["spec"].(map[string]any)
	if r.body["state"] != "running" || spec["experiment"] != "svm" || spec["trial"].(map[string]any)["resources"].(map[string]any)["cpu"] != "1" {
		t.Fatalf("created with defaults: %s", r.raw)
	}
	if vs := spec["parameters"].([]any)[2].(map[string]any)["values"].([]any); vs[1] != "3" {
		t.Errorf("a YAML number as a categorical value is its text: %v", vs)
	}
	run := e.must(200, "GET", "/api/v1/tenants/ml/runs/"+r.body["runId"].(string), tok, nil)
	if run.body["tags"].(map[string]any)["ferry.tuning"] != "svm" {
		t.Errorf("the tuning's run: %s", run.raw)
	}
	e.must(409, "POST", base, tok, map[string]any{"yaml": tuningYAML})
	e.must(404, "GET", base+"/svm/best", tok, nil)
	if tr := e.must(200, "GET", base+"/svm/trials", tok, nil); len(tr.body["items"].([]any)) != 0 {
		t.Errorf("trials before any ran: %s", tr.raw)
	}
	if g := e.must(200, "GET", base+"/svm", tok, nil); g.body["trials"].(map[string]any)["total"].(float64) != 0 {
		t.Errorf("get: %s", g.raw)
	}
	if s := e.must(200, "POST", base+"/svm/stop", tok, nil); s.body["state"] != "stopped" || !strings.Contains(s.body["reason"].(string), "alice") {
		t.Errorf("stop: %s", s.raw)
	}
	e.must(409, "POST", base+"/svm/stop", tok, nil)
	other := e.tenant("other", "bob", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(404, "GET", base+"/svm", other, nil)
	e.must(404, "POST", base, other, map[string]any{"yaml": tuningYAML})
}
