package mlflow

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

// logModel creates a logged model as user from run (MLflow 3's create_logged_model).
func (e *env) logModel(user, run, name string) map[string]any {
	e.t.Helper()
	return dig(e.ok(user, "POST", "/logged-models", map[string]any{"experiment_id": "0", "name": name, "source_run_id": run,
		"model_type": "Classifier", "params": []any{map[string]any{"key": "C", "value": "1.0"}},
		"tags": []any{map[string]any{"key": "mlflow.user", "value": user}}}), "model").(map[string]any)
}

// TestMLflow3LogModelFlow follows mlflow.sklearn.log_model(..., registered_model_name=...)
// in MLflow 3: create the logged model, record it as the run's output,
// upload its files through the artifact proxy, finalize it, register a
// version from models:/<model_id>, and resolve the version to its files.
func TestMLflow3LogModelFlow(t *testing.T) {
	e := newEnv(t)
	run := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))

	m := e.logModel("alice", run, "clf")
	id := str(dig(m, "info", "model_id"))
	loc := "mlflow-artifacts:/0/models/" + id + "/artifacts"
	if len(id) != 34 || !strings.HasPrefix(id, "m-") {
		t.Fatalf("model_id %q is not m-<32 hex>", id)
	}
	for k, want := range map[string]string{"status": "LOGGED_MODEL_PENDING", "artifact_uri": loc, "experiment_id": "0", "name": "clf",
		"source_run_id": run, "model_type": "Classifier"} {
		if got := str(dig(m, "info", k)); got != want {
			t.Errorf("info.%s = %q, want %q", k, got, want)
		}
	}
	if str(dig(m, "data", "params", 0, "key")) != "C" || str(dig(m, "info", "tags", 0, "key")) != "mlflow.user" {
		t.Errorf("params and tags: %v", m)
	}

	e.ok("alice", "POST", "/runs/outputs", map[string]any{"run_id": run, "models": []any{map[string]any{"model_id": id, "step": 0}}})
	if got := str(dig(e.ok("alice", "GET", "/runs/get", map[string]string{"run_id": run}), "run", "outputs", "model_outputs", 0, "model_id")); got != id {
		t.Errorf("run outputs name %q, want %s", got, id)
	}

	body := []byte("fitted model")
	for _, f := range []string{"MLmodel", "model.pkl"} {
		if st, b, _ := e.raw("alice", "PUT", "/0/models/"+id+"/artifacts/"+f, body, nil); st != http.StatusOK {
			t.Fatalf("upload %s: %d %s", f, st, b)
		}
	}
	listed := e.ok("alice", "GET", "/mlflow/team-a/api/2.0/mlflow-artifacts/artifacts", map[string]string{"path": "0/models/" + id + "/artifacts"})
	if str(dig(listed, "files", 0, "path")) != "MLmodel" || str(dig(listed, "files", 1, "path")) != "model.pkl" {
		t.Errorf("proxy list: %v", listed)
	}
	dirs := e.ok("alice", "GET", "/logged-models/"+id+"/artifacts/directories", nil)
	if str(dig(dirs, "root_uri")) != loc || str(dig(dirs, "files", 1, "path")) != "model.pkl" || str(dig(dirs, "files", 1, "file_size")) != "12" {
		t.Errorf("ListLoggedModelArtifacts: %v", dirs)
	}

	fin := e.ok("alice", "PATCH", "/logged-models/"+id, map[string]any{"model_id": id, "status": "LOGGED_MODEL_READY"})
	if str(dig(fin, "model", "info", "status")) != "LOGGED_MODEL_READY" {
		t.Errorf("finalized: %v", fin)
	}

	e.ok("alice", "POST", "/registered-models/create", map[string]any{"name": "digits"})
	v := dig(e.ok("alice", "POST", "/model-versions/create", map[string]any{"name": "digits", "source": "models:/" + id, "model_id": id}), "model_version")
	if str(dig(v, "model_id")) != id || str(dig(v, "run_id")) != run || str(dig(v, "source")) != "models:/"+id {
		t.Errorf("version from a logged model: %v", v)
	}
	// models:/digits/1 resolves through get-download-uri to the model's files.
	if got := str(dig(e.ok("alice", "GET", "/model-versions/get-download-uri", map[string]string{"name": "digits", "version": "1"}), "artifact_uri")); got != loc {
		t.Errorf("download uri %q, want %q", got, loc)
	}
	st, got, hd := e.raw("alice", "GET", "/0/models/"+id+"/artifacts/model.pkl", nil, nil)
	sum := sha256.Sum256(body)
	if st != http.StatusOK || string(got) != string(body) || hd.Get(HeaderSHA256) != hex.EncodeToString(sum[:]) {
		t.Errorf("download: %d %q %s", st, got, hd.Get(HeaderSHA256))
	}
	if n := e.count("SELECT count(*) FROM artifact_blobs"); n != 1 {
		t.Errorf("two files of one content are %d blobs", n)
	}

	// The client tags the model with its registrations; get shows them too.
	e.ok("alice", "PATCH", "/logged-models/"+id+"/tags", map[string]any{"tags": []any{map[string]any{"key": "mlflow.modelVersions", "value": `[{"name": "digits", "version": "1"}]`}}})
	e.ok("alice", "POST", "/logged-models/"+id+"/params", map[string]any{"params": []any{map[string]any{"key": "gamma", "value": "0.1"}}})
	got2 := e.ok("alice", "GET", "/logged-models/"+id, nil)
	if str(dig(got2, "model", "info", "registrations", 0, "name")) != "digits" || str(dig(got2, "model", "info", "registrations", 0, "version")) != "1" {
		t.Errorf("registrations: %v", dig(got2, "model", "info"))
	}
	if len(dig(got2, "model", "data", "params").([]any)) != 2 || len(dig(got2, "model", "info", "tags").([]any)) != 2 {
		t.Errorf("params and tags after logging: %v", got2)
	}
	e.ok("alice", "DELETE", "/logged-models/"+id+"/tags/mlflow.modelVersions", nil)

	found := e.ok("alice", "POST", "/logged-models/search", map[string]any{"experiment_ids": []string{"0"},
		"filter": "name = 'clf' AND status = 'READY' AND params.C = '1.0' AND model_type LIKE 'Class%'", "order_by": []any{map[string]any{"field_name": "creation_timestamp", "ascending": false}}})
	if str(dig(found, "models", 0, "info", "model_id")) != id || dig(found, "models", 1) != nil {
		t.Errorf("search: %v", found)
	}

	e.ok("alice", "DELETE", "/logged-models/"+id, nil)
	e.fails("alice", "GET", "/logged-models/"+id, nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	if n := e.count("SELECT count(*) FROM audit WHERE action IN ('mlflow.createLoggedModel', 'mlflow.deleteLoggedModel')"); n != 2 {
		t.Errorf("%d audit rows for create and delete, want 2", n)
	}
}

func TestLoggedModelsRefuseBadInputAndOtherTenants(t *testing.T) {
	e := newEnv(t)
	run := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	id := str(dig(e.logModel("alice", run, "clf"), "info", "model_id"))
	unknown := "m-" + strings.Repeat("0", 32)
	before := e.count("SELECT count(*) FROM logged_models") + e.count("SELECT count(*) FROM logged_model_tags")

	e.fails("alice", "GET", "/logged-models/"+unknown, nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	e.fails("alice", "PATCH", "/logged-models/"+unknown, map[string]any{"status": "LOGGED_MODEL_READY"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	e.fails("alice", "PATCH", "/logged-models/"+unknown+"/tags", map[string]any{"tags": []any{map[string]any{"key": "k", "value": "v"}}}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	if st, b, _ := e.raw("alice", "PUT", "/0/models/"+unknown+"/artifacts/x", []byte("x"), nil); st != http.StatusNotFound {
		t.Errorf("upload to an unknown model: %d %s", st, b)
	}
	e.fails("alice", "POST", "/model-versions/create", map[string]any{"name": "x", "source": "models:/" + unknown, "model_id": unknown}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	e.fails("alice", "POST", "/logged-models", map[string]any{"name": "no-experiment"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "POST", "/logged-models", map[string]any{"experiment_id": "0", "tags": []any{map[string]any{"key": strings.Repeat("k", 251), "value": "v"}}}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "PATCH", "/logged-models/"+id+"/tags", map[string]any{"tags": []any{map[string]any{"key": strings.Repeat("k", 251), "value": "v"}}}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "POST", "/logged-models/"+id+"/params", map[string]any{"params": []any{map[string]any{"key": "C", "value": "2.0"}}}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "PATCH", "/logged-models/"+id, map[string]any{"status": "DONE"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "PATCH", "/logged-models/"+id, map[string]any{"status": "LOGGED_MODEL_PENDING"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "PATCH", "/logged-models/"+id, map[string]any{}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "POST", "/logged-models/search", map[string]any{"experiment_ids": []string{"0"}, "max_results": 5000}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "POST", "/logged-models/search", map[string]any{"experiment_ids": []string{"0"}, "filter": "name = 'a' OR name = 'b'"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "POST", "/logged-models/search", map[string]any{"experiment_ids": []string{"0"}, "order_by": []any{map[string]any{"field_name": "tags.x"}}}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "PUT", "/logged-models/"+id, nil, http.StatusMethodNotAllowed, "ENDPOINT_NOT_FOUND")
	e.fails("alice", "GET", "/logged-models/"+id+"/nothing", nil, http.StatusNotFound, "ENDPOINT_NOT_FOUND")
	// Numbers are proto enums too: 3 is LOGGED_MODEL_UPLOAD_FAILED.
	if got := str(dig(e.ok("alice", "PATCH", "/logged-models/"+id, map[string]any{"status": 3}), "model", "info", "status")); got != "LOGGED_MODEL_UPLOAD_FAILED" {
		t.Errorf("status 3 is %q", got)
	}

	// Viewers read, and may not write.
	e.ok("val", "GET", "/logged-models/"+id, nil)
	e.ok("val", "POST", "/logged-models/search", map[string]any{"experiment_ids": []string{"0"}})
	e.fails("val", "POST", "/logged-models", map[string]any{"experiment_id": "0"}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("val", "DELETE", "/logged-models/"+id, nil, http.StatusForbidden, "PERMISSION_DENIED")
	// Another tenant's member: 404 on team-a's paths, and team-a's model is
	// nothing in team-b.
	e.fails("bob", "GET", "/logged-models/"+id, nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	e.fails("bob", "POST", "/logged-models/search", map[string]any{"experiment_ids": []string{"0"}}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	e.fails("bob", "GET", "/mlflow/team-b/api/2.0/mlflow/logged-models/"+id, nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	e.fails("bob", "PATCH", "/mlflow/team-b/api/2.0/mlflow/logged-models/"+id+"/tags", map[string]any{"tags": []any{map[string]any{"key": "k", "value": "v"}}}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	if n := e.count("SELECT count(*) FROM logged_models") + e.count("SELECT count(*) FROM logged_model_tags"); n != before {
		t.Errorf("refused calls wrote rows: %d before, %d after", before, n)
	}
}

func TestSearchLoggedModelsPagesWithTokens(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.ok("alice", "POST", "/logged-models", map[string]any{"experiment_id": "0", "name": n})
	}
	req := map[string]any{"experiment_ids": []string{"0"}, "max_results": 2, "order_by": []any{map[string]any{"field_name": "name"}}}
	p1 := e.ok("alice", "POST", "/logged-models/search", req)
	tok := str(dig(p1, "next_page_token"))
	if str(dig(p1, "models", 0, "info", "name")) != "a" || str(dig(p1, "models", 1, "info", "name")) != "b" || tok == "" {
		t.Fatalf("first page: %v", p1)
	}
	req["page_token"] = tok
	p2 := e.ok("alice", "POST", "/logged-models/search", req)
	if str(dig(p2, "models", 0, "info", "name")) != "c" || dig(p2, "models", 1) != nil || dig(p2, "next_page_token") != nil {
		t.Errorf("second page: %v", p2)
	}
	req["page_token"] = "not a token"
	e.fails("alice", "POST", "/logged-models/search", req, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
}

func TestARunTokenWritesOnlyTheModelsItsRunLogged(t *testing.T) {
	e := newEnv(t)
	mine := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	other := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	theirs := str(dig(e.logModel("alice", other, "theirs"), "info", "model_id"))
	e.ok("alice", "POST", "/registered-models/create", map[string]any{"name": "digits"})
	e.runToken(t, mine)

	// Its own run's model: the whole log_model flow.
	own := str(dig(e.logModel("job", mine, "own"), "info", "model_id"))
	e.ok("job", "POST", "/runs/outputs", map[string]any{"run_id": mine, "models": []any{map[string]any{"model_id": own, "step": 1}}})
	if st, b, _ := e.raw("job", "PUT", "/0/models/"+own+"/artifacts/model.pkl", []byte("m"), nil); st != http.StatusOK {
		t.Fatalf("upload to its own model: %d %s", st, b)
	}
	e.ok("job", "PATCH", "/logged-models/"+own+"/tags", map[string]any{"tags": []any{map[string]any{"key": "k", "value": "v"}}})
	e.ok("job", "POST", "/logged-models/"+own+"/params", map[string]any{"params": []any{map[string]any{"key": "p", "value": "1"}}})
	e.ok("job", "DELETE", "/logged-models/"+own+"/tags/k", nil)
	e.ok("job", "PATCH", "/logged-models/"+own, map[string]any{"status": "LOGGED_MODEL_READY"})
	e.ok("job", "POST", "/model-versions/create", map[string]any{"name": "digits", "source": "models:/" + own, "model_id": own})
	e.ok("job", "GET", "/logged-models/"+theirs, nil)

	before := e.count("SELECT count(*) FROM logged_models") + e.count("SELECT count(*) FROM logged_model_tags") +
		e.count("SELECT count(*) FROM model_versions") + e.count("SELECT count(*) FROM run_model_outputs") + e.count("SELECT count(*) FROM logged_model_artifacts")
	e.fails("job", "POST", "/logged-models", map[string]any{"experiment_id": "0"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("job", "POST", "/logged-models", map[string]any{"experiment_id": "0", "source_run_id": other}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "PATCH", "/logged-models/"+theirs, map[string]any{"status": "LOGGED_MODEL_READY"}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "PATCH", "/logged-models/"+theirs+"/tags", map[string]any{"tags": []any{map[string]any{"key": "k", "value": "v"}}}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/logged-models/"+theirs+"/params", map[string]any{"params": []any{map[string]any{"key": "p", "value": "1"}}}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "DELETE", "/logged-models/"+theirs+"/tags/mlflow.user", nil, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "DELETE", "/logged-models/"+own, nil, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/runs/outputs", map[string]any{"run_id": other, "models": []any{map[string]any{"model_id": own}}}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/model-versions/create", map[string]any{"name": "digits", "source": "models:/" + theirs, "model_id": theirs}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/model-versions/create", map[string]any{"name": "digits", "source": "models:/" + theirs, "model_id": theirs, "run_id": mine}, http.StatusForbidden, "PERMISSION_DENIED")
	if st, b, _ := e.raw("job", "PUT", "/0/models/"+theirs+"/artifacts/model.pkl", []byte("evil"), nil); st != http.StatusForbidden {
		t.Errorf("upload to another run's model: %d %s", st, b)
	}
	after := e.count("SELECT count(*) FROM logged_models") + e.count("SELECT count(*) FROM logged_model_tags") +
		e.count("SELECT count(*) FROM model_versions") + e.count("SELECT count(*) FROM run_model_outputs") + e.count("SELECT count(*) FROM logged_model_artifacts")
	if after != before {
		t.Errorf("refused calls wrote rows: %d before, %d after", before, after)
	}
}
