package api

import (
	"context"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

const apiSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
parameters:
  - {name: lr, type: float}
steps:
  - name: prep
    image: ferry.local/workload:1
    command: [python3, prep.py]
    outputs: {artifacts: [data]}
  - name: train
    image: ferry.local/workload:1
    command: [python3, train.py, "--lr={{params.lr}}"]
    inputs: {artifacts: {data: "{{steps.prep.outputs.artifacts.data}}"}}
`

func problemAt(t *testing.T, r reply) string {
	t.Helper()
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %s", r.raw)
	}
	loc, _ := errs[0].(map[string]any)["location"].(string)
	return loc
}

func TestPipelinesAreVersionedAndBadSpecsStoreNothing(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	base := "/api/v1/tenants/ml/pipelines"

	v := e.must(201, "POST", base, tok, map[string]any{"name": "train", "yaml": apiSpec})
	if v.body["version"].(float64) != 1 || len(v.body["digest"].(string)) != 64 {
		t.Fatalf("first version: %s", v.raw)
	}
	again := e.must(201, "POST", base, tok, map[string]any{"name": "train", "yaml": apiSpec})
	if again.body["version"].(float64) != 1 {
		t.Fatalf("the same spec made a new version: %s", again.raw)
	}
	e.must(201, "POST", base, tok, map[string]any{"name": "train", "yaml": strings.Replace(apiSpec, "prep.py", "prep2.py", 1)})
	vs := e.must(200, "GET", base+"/train/versions", tok, nil)
	if n := len(vs.body["items"].([]any)); n != 2 {
		t.Fatalf("versions = %d: %s", n, vs.raw)
	}

	var last int64
	for _, a := range e.audit() {
		last = max(last, a.ID)
	}
	cycle := strings.Replace(apiSpec, "    outputs: {artifacts: [data]}", "    outputs: {artifacts: [data]}\n    dependsOn: [train]", 1)
	for _, c := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"cycle", map[string]any{"name": "loop", "yaml": cycle}, "body.yaml.steps[0].dependsOn"},
		{"unknown output", map[string]any{"name": "bad", "yaml": strings.Replace(apiSpec, "artifacts.data}}", "artifacts.model}}", 1)}, "body.yaml.steps[1].inputs.artifacts.data"},
		{"bad name", map[string]any{"name": "Bad_Name", "yaml": apiSpec}, "body.name"},
		{"no spec", map[string]any{"name": "empty"}, "body.spec"},
		{"over the size limit", map[string]any{"name": "big", "yaml": apiSpec + "description: " + strings.Repeat("x", 300<<10)}, "body.yaml"},
	} {
		r := e.must(422, "POST", base, tok, c.body)
		if got := problemAt(t, r); got != c.want {
			t.Errorf("%s: location %s, want %s: %s", c.name, got, c.want, r.raw)
		}
	}
	if lst := e.must(200, "GET", base, tok, nil); len(lst.body["items"].([]any)) != 1 {
		t.Errorf("a refused spec was stored: %s", lst.raw)
	}
	for _, a := range e.audit() {
		if a.ID > last && a.Result == "ok" {
			t.Errorf("a refused create wrote an ok audit row: %+v", a)
		}
	}
	// Another tenant's member sees 404.
	other := e.tenant("other", "bob", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(404, "GET", base+"/train", other, nil)
	e.must(404, "POST", base, other, map[string]any{"name": "x", "yaml": apiSpec})
	// Unauthenticated writes nothing.
	e.must(401, "POST", base, "", map[string]any{"name": "anon", "yaml": apiSpec})
}

func TestRunSubmitChecksParametersAndRetriesOnlyFailedRuns(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(201, "POST", "/api/v1/tenants/ml/pipelines", tok, map[string]any{"name": "train", "yaml": apiSpec})
	runs := "/api/v1/tenants/ml/pipelines/train/runs"
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{}, "body.parameters.lr"},
		{map[string]string{"lr": "fast"}, "body.parameters.lr"},
		{map[string]string{"lr": "0.1", "epochs": "3"}, "body.parameters.epochs"},
	} {
		r := e.must(422, "POST", runs, tok, map[string]any{"parameters": c.params})
		if got := problemAt(t, r); got != c.want {
			t.Errorf("%v: location %s, want %s", c.params, got, c.want)
		}
	}
	r := e.must(201, "POST", runs, tok, map[string]any{"parameters": map[string]string{"lr": "0.1"}})
	id := r.body["id"].(string)
	if r.body["state"] != "pending" || r.body["version"].(float64) != 1 {
		t.Fatalf("run: %s", r.raw)
	}
	// The run is a tracking run with its parameters.
	tr := e.must(200, "GET", "/api/v1/tenants/ml/runs/"+id, tok, nil)
	if tr.body["params"].(map[string]any)["lr"] != "0.1" || tr.body["tags"].(map[string]any)["ferry.pipeline"] != "train" {
		t.Fatalf("tracking run: %s", tr.raw)
	}
	run := "/api/v1/tenants/ml/pipeline-runs/" + id
	e.must(409, "POST", run+"/retry", tok, nil)
	c := e.must(200, "POST", run+"/cancel", tok, nil)
	if c.body["state"] != "cancelled" {
		t.Fatalf("cancel: %s", c.raw)
	}
	e.must(409, "POST", run+"/cancel", tok, nil)
	if rr := e.must(200, "POST", run+"/retry", tok, nil); rr.body["state"] != "pending" {
		t.Fatalf("retry: %s", rr.raw)
	}
	lst := e.must(200, "GET", "/api/v1/tenants/ml/pipeline-runs?pipeline=train&state=pending", tok, nil)
	if len(lst.body["items"].([]any)) != 1 {
		t.Fatalf("list: %s", lst.raw)
	}
	e.must(404, "GET", "/api/v1/tenants/ml/pipeline-runs/0123456789abcdef0123456789abcdef", tok, nil)
}

func TestSchedulesRefuseBadCronAndPauseResumeDelete(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(201, "POST", "/api/v1/tenants/ml/pipelines", tok, map[string]any{"name": "train", "yaml": apiSpec})
	base := "/api/v1/tenants/ml/schedules"
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"name": "s", "pipeline": "train", "cron": "61 * * * *", "parameters": map[string]string{"lr": "0.1"}}, "body.cron"},
		{map[string]any{"name": "s", "pipeline": "train", "cron": "@hourly", "timezone": "Mars/Olympus", "parameters": map[string]string{"lr": "0.1"}}, "body.timezone"},
		{map[string]any{"name": "s", "pipeline": "train", "cron": "@hourly"}, "body.parameters.lr"},
		{map[string]any{"name": "s", "pipeline": "nope", "cron": "@hourly"}, "body.pipeline"},
	} {
		if got := problemAt(t, e.must(422, "POST", base, tok, c.body)); got != c.want {
			t.Errorf("%v: location %s, want %s", c.body, got, c.want)
		}
	}
	s := e.must(201, "POST", base, tok, map[string]any{"name": "nightly", "pipeline": "train", "cron": "0 3 * * *", "timezone": "Europe/Paris",
		"parameters": map[string]string{"lr": "0.1"}})
	if s.body["policy"] != "Forbid" || s.body["paused"] != false {
		t.Fatalf("schedule: %s", s.raw)
	}
	e.must(409, "POST", base, tok, map[string]any{"name": "nightly", "pipeline": "train", "cron": "@daily", "parameters": map[string]string{"lr": "0.1"}})
	if p := e.must(200, "POST", base+"/nightly/pause", tok, nil); p.body["paused"] != true {
		t.Fatalf("pause: %s", p.raw)
	}
	if r := e.must(200, "POST", base+"/nightly/resume", tok, nil); r.body["paused"] != false {
		t.Fatalf("resume: %s", r.raw)
	}
	if l := e.must(200, "GET", base, tok, nil); len(l.body["items"].([]any)) != 1 {
		t.Fatalf("list: %s", l.raw)
	}
	e.must(204, "DELETE", base+"/nightly", tok, nil)
	e.must(404, "DELETE", base+"/nightly", tok, nil)
	if runs := e.must(200, "GET", "/api/v1/tenants/ml/pipeline-runs", tok, nil); len(runs.body["items"].([]any)) != 0 {
		t.Fatalf("creating a schedule started a run: %s", runs.raw)
	}
}

type logsOnly struct{}

func (logsOnly) Poke() {}

func (logsOnly) WriteStepLogs(_ context.Context, _ store.PipelineRun, step string, _ bool, w io.Writer) error {
	_, err := io.WriteString(w, "log of "+step+"\n")
	return err
}

func TestStepLogsOfAFanOutItemAreFoundByItsBracketedName(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, func(c *Config) { c.Pipelines = logsOnly{} })
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(201, "POST", "/api/v1/tenants/ml/pipelines", tok, map[string]any{"name": "train", "yaml": apiSpec})
	r := e.must(201, "POST", "/api/v1/tenants/ml/pipelines/train/runs", tok, map[string]any{"parameters": map[string]string{"lr": "0.1"}})
	id := r.body["id"].(string)
	err := e.db.Write(t.Context(), func(tx *store.Tx) error {
		pr, err := tx.PipelineRun(t.Context(), "ml", id)
		if err != nil {
			return err
		}
		item := int32(1)
		return tx.PutPipelineStep(t.Context(), store.PipelineStep{RunID: pr.ID, Name: "train[1]", Step: "train", Item: &item, State: "running"})
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.must(200, "GET", "/api/v1/tenants/ml/pipeline-runs/"+id+"/steps/"+url.PathEscape("train[1]")+"/logs", tok, nil)
	if got.raw != "log of train[1]\n" {
		t.Fatalf("log: %q", got.raw)
	}
	e.must(404, "GET", "/api/v1/tenants/ml/pipeline-runs/"+id+"/steps/nope/logs", tok, nil)
}
