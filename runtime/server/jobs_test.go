package server

import (
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// TestJobSubmissionsAreValidatedAuthorizedAndListedInOrder runs the jobs API
// on a server without Kubernetes access: jobs are stored (queued), bad input
// names its field and stores nothing, a viewer reads but does not submit,
// and another tenant's member finds nothing.
func TestJobSubmissionsAreValidatedAuthorizedAndListedInOrder(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, bob := e.twoTenants()
	viewer := e.user("vic")
	e.must(200, "PUT", "/api/v1/tenants/a/members/vic", alice, map[string]any{"role": "viewer"})
	good := func(name string) map[string]any {
		return map[string]any{"name": name, "image": "ferry.local/workload:1", "command": []string{"python3", "/opt/ferry/examples/sklearn_train.py"},
			"replicas": 2, "resources": map[string]any{"cpu": "500m", "memory": "512Mi", "gpu": 0}, "env": map[string]string{"EPOCHS": "3"}}
	}
	cases := []struct {
		name, body, field string
	}{
		{"bad image reference", `{"name":"j","image":"Not A/Ref::x","command":["true"]}`, "body.image"},
		{"no replicas", `{"name":"j","image":"busybox:1","command":["true"],"replicas":-1}`, "body.replicas"},
		{"negative cpu", `{"name":"j","image":"busybox:1","command":["true"],"resources":{"cpu":"-1"}}`, "body.resources.cpu"},
		{"negative gpu", `{"name":"j","image":"busybox:1","command":["true"],"resources":{"gpu":-2}}`, "body.resources.gpu"},
		{"command not a list", `{"name":"j","image":"busybox:1","command":"python3 train.py"}`, "body.command"},
		{"empty command", `{"name":"j","image":"busybox:1","command":[]}`, "body.command"},
		{"bad name", `{"name":"Train_1","image":"busybox:1","command":["true"]}`, "body.name"},
		{"reserved env", `{"name":"j","image":"busybox:1","command":["true"],"env":{"RANK":"3"}}`, "body.env"},
		{"tracking env", `{"name":"j","image":"busybox:1","command":["true"],"env":{"MLFLOW_RUN_ID":"x"}}`, "body.env"},
		{"experiment with a newline", `{"name":"j","image":"busybox:1","command":["true"],"experiment":"a\nb"}`, "body.experiment"},
	}
	for _, c := range cases {
		a := e.do("POST", "/api/v1/tenants/a/jobs", alice, c.body)
		if a.status != 422 || !strings.Contains(a.raw, c.field) {
			t.Errorf("%s: status %d, want 422 naming %s: %.300s", c.name, a.status, c.field, a.raw)
		}
	}
	if list := e.must(200, "GET", "/api/v1/tenants/a/jobs", alice, nil); len(list.body["items"].([]any)) != 0 {
		t.Fatalf("bad submissions stored jobs: %s", list.raw)
	}
	runs := e.must(200, "GET", "/mlflow/a/api/2.0/mlflow/runs/search", alice, nil)
	if rs, _ := runs.body["runs"].([]any); len(rs) != 0 {
		t.Fatalf("bad submissions left runs: %s", runs.raw)
	}

	e.must(403, "POST", "/api/v1/tenants/a/jobs", viewer, good("by-viewer"))
	e.must(404, "POST", "/api/v1/tenants/a/jobs", bob, good("by-bob"))
	first := e.must(201, "POST", "/api/v1/tenants/a/jobs", alice, good("first"))
	if first.body["state"] != "queued" || first.body["createdBy"] != "alice" {
		t.Errorf("submitted job: %s", first.raw)
	}
	// The job is tracked as a SCHEDULED run of the Default experiment, tagged with the job.
	run, _ := first.body["run"].(map[string]any)
	if run == nil || run["experimentId"] != "0" || run["runId"] == "" {
		t.Fatalf("submitted job has no run: %s", first.raw)
	}
	got := e.must(200, "GET", "/mlflow/a/api/2.0/mlflow/runs/get?run_id="+run["runId"].(string), viewer, nil)
	if !strings.Contains(got.raw, `"status":"SCHEDULED"`) || !strings.Contains(got.raw, `{"key":"ferry.job","value":"first"}`) {
		t.Errorf("the job's run: %s", got.raw)
	}
	named := e.must(201, "POST", "/api/v1/tenants/a/jobs", alice, func() map[string]any { b := good("named"); b["experiment"] = "digits"; return b }())
	exp := e.must(200, "GET", "/mlflow/a/api/2.0/mlflow/experiments/get-by-name?experiment_name=digits", viewer, nil)
	if id := exp.body["experiment"].(map[string]any)["experiment_id"]; id != named.body["run"].(map[string]any)["experimentId"] {
		t.Errorf("job with experiment digits: run in %v, experiment digits is %v", named.body["run"], id)
	}
	e.must(409, "POST", "/api/v1/tenants/a/jobs", alice, good("first"))
	e.must(201, "POST", "/api/v1/tenants/a/jobs", alice, good("second"))
	list := e.must(200, "GET", "/api/v1/tenants/a/jobs?limit=1", viewer, nil)
	items := list.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["name"] != "first" {
		t.Fatalf("first page: %s", list.raw)
	}
	next := list.body["next"].(string)
	page2 := e.must(200, "GET", "/api/v1/tenants/a/jobs?limit=1&after="+next, viewer, nil)
	if items := page2.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "named" {
		t.Fatalf("second page: %s", page2.raw)
	}
	got = e.must(200, "GET", "/api/v1/tenants/a/jobs/first", viewer, nil)
	if spec := got.body["spec"].(map[string]any); spec["replicas"].(float64) != 2 || spec["image"] != "ferry.local/workload:1" {
		t.Errorf("job spec: %s", got.raw)
	}
	for _, path := range []string{"/api/v1/tenants/a/jobs", "/api/v1/tenants/a/jobs/first", "/api/v1/tenants/a/jobs/first/logs"} {
		if a := e.do("GET", path, bob, nil); a.status != 404 || strings.Contains(a.raw, "first") && !strings.Contains(a.raw, "tenant") {
			t.Errorf("bob GET %s: %d %s", path, a.status, a.raw)
		}
	}
	e.must(404, "GET", "/api/v1/tenants/a/jobs/nope", alice, nil)
	// Without Kubernetes access nothing runs: cancel and logs say so.
	e.must(503, "POST", "/api/v1/tenants/a/jobs/first/cancel", alice, nil)
	e.must(503, "GET", "/api/v1/tenants/a/jobs/first/logs", viewer, nil)
}

// TestNotebooksAPIValidatesAndAuthorizes runs the notebooks API without
// Kubernetes: records are kept, bad input names its field, a viewer cannot
// create, another tenant's member finds nothing, and the tenant's idle
// setting is the owner's to change.
func TestNotebooksAPIValidatesAndAuthorizes(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, bob := e.twoTenants()
	viewer := e.user("vic")
	e.must(200, "PUT", "/api/v1/tenants/a/members/vic", alice, map[string]any{"role": "viewer"})
	for _, c := range []struct{ body, field string }{
		{`{"name":"lab","image":"::bad"}`, "body.image"},
		{`{"name":"Lab_1","image":"busybox:1"}`, "body.name"},
		{`{"name":"lab","image":"busybox:1","workspace":"lots"}`, "body.workspace"},
		{`{"name":"lab","image":"busybox:1","resources":{"memory":"-1Gi"}}`, "body.resources.memory"},
	} {
		if a := e.do("POST", "/api/v1/tenants/a/notebooks", alice, c.body); a.status != 422 || !strings.Contains(a.raw, c.field) {
			t.Errorf("%s: %d %.200s", c.body, a.status, a.raw)
		}
	}
	e.must(403, "POST", "/api/v1/tenants/a/notebooks", viewer, map[string]any{"name": "lab", "image": "busybox:1"})
	e.must(404, "POST", "/api/v1/tenants/a/notebooks", bob, map[string]any{"name": "lab", "image": "busybox:1"})
	nb := e.must(201, "POST", "/api/v1/tenants/a/notebooks", alice, map[string]any{"name": "lab", "image": "ferry.local/workload:1"})
	if nb.body["state"] != "running" || nb.body["workspace"] != "1Gi" {
		t.Errorf("created notebook: %s", nb.raw)
	}
	e.must(409, "POST", "/api/v1/tenants/a/notebooks", alice, map[string]any{"name": "lab", "image": "ferry.local/workload:1"})
	if l := e.must(200, "GET", "/api/v1/tenants/a/notebooks", viewer, nil); !strings.Contains(l.raw, `"name":"lab"`) {
		t.Errorf("list: %s", l.raw)
	}
	e.must(404, "GET", "/api/v1/tenants/a/notebooks/lab", bob, nil)
	e.must(404, "GET", "/api/v1/tenants/a/notebooks", bob, nil)
	e.must(503, "POST", "/api/v1/tenants/a/notebooks/lab/stop", alice, nil)
	e.must(403, "POST", "/api/v1/tenants/a/notebooks/lab/stop", viewer, nil)
	if tn := e.must(200, "PATCH", "/api/v1/tenants/a", alice, map[string]any{"notebookIdleSeconds": 30}); tn.body["notebookIdleSeconds"].(float64) != 30 {
		t.Errorf("idle setting: %s", tn.raw)
	}
	e.must(422, "PATCH", "/api/v1/tenants/a", alice, map[string]any{"notebookIdleSeconds": -1})
	e.must(204, "DELETE", "/api/v1/tenants/a/notebooks/lab", alice, nil)
	e.must(404, "GET", "/api/v1/tenants/a/notebooks/lab", alice, nil)
}

// TestARunScopedTokenIsRefusedByFerrysAPI: the token a job's pods hold
// works on its MLflow run only; ferry's API answers 403 and writes nothing.
func TestARunScopedTokenIsRefusedByFerrysAPI(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, _ := e.twoTenants()
	job := e.must(201, "POST", "/api/v1/tenants/a/jobs", alice, map[string]any{"name": "j", "image": "busybox:1", "command": []string{"true"}})
	runID := job.body["run"].(map[string]any)["runId"].(string)
	ctx := t.Context()
	var scoped string
	err := e.srv.Store().Write(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByName(ctx, "alice")
		if err != nil {
			return err
		}
		_, scoped, err = tx.CreateScopedToken(ctx, u.ID, "run", store.RunScope("a", runID), 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := e.auditCount()
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/whoami"}, {"GET", "/api/v1/tenants/a/jobs"}, {"POST", "/api/v1/tokens"}, {"POST", "/api/v1/tenants/a/jobs"}} {
		if a := e.do(c.method, c.path, scoped, map[string]any{"name": "x"}); a.status != 403 || !strings.Contains(a.raw, "scoped to one MLflow run") {
			t.Errorf("%s %s with a run token: %d %s", c.method, c.path, a.status, a.raw)
		}
	}
	if after := e.auditCount(); after != before {
		t.Errorf("refused run-token calls wrote %d audit rows", after-before)
	}
	e.must(200, "POST", "/mlflow/a/api/2.0/mlflow/runs/log-parameter", scoped, map[string]any{"run_id": runID, "key": "C", "value": "1"})
}
