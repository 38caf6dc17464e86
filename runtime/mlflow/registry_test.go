package mlflow

import (
	"testing"
)

func TestRegistryEndpointsFollowTheSpec(t *testing.T) {
	e := newEnv(t)
	e.t = t
	runID := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	m := e.ok("alice", "POST", "/registered-models/create", map[string]any{"name": "clf", "description": "d", "tags": []map[string]string{{"key": "k", "value": "v"}}})
	if dig(m, "registered_model", "name") != "clf" || dig(m, "registered_model", "tags", 0, "key") != "k" || dig(m, "registered_model", "creation_timestamp") == nil {
		t.Fatalf("create model: %v", m)
	}
	e.fails("alice", "POST", "/registered-models/create", map[string]any{"name": "clf"}, 409, "RESOURCE_ALREADY_EXISTS")
	for i := 1; i <= 2; i++ {
		v := e.ok("alice", "POST", "/model-versions/create", map[string]any{"name": "clf", "source": "runs:/" + runID + "/model", "run_id": runID})
		if dig(v, "model_version", "version") != string(rune('0'+i)) || dig(v, "model_version", "status") != "READY" || dig(v, "model_version", "run_id") != runID {
			t.Fatalf("version %d: %v", i, v)
		}
	}
	e.fails("alice", "POST", "/model-versions/create", map[string]any{"name": "nope", "source": "s"}, 404, "RESOURCE_DOES_NOT_EXIST")
	e.fails("alice", "POST", "/model-versions/create", map[string]any{"name": "clf"}, 400, "INVALID_PARAMETER_VALUE")
	e.fails("val", "GET", "/model-versions/get", map[string]string{"name": "clf", "version": "9"}, 404, "RESOURCE_DOES_NOT_EXIST")
	if dig(e.ok("val", "GET", "/model-versions/get", map[string]string{"name": "clf", "version": "2"}), "model_version", "source") != "runs:/"+runID+"/model" {
		t.Fatal("get version")
	}
	lv := e.ok("val", "POST", "/registered-models/get-latest-versions", map[string]any{"name": "clf", "stages": []string{"None"}})
	if l := lv["model_versions"].([]any); len(l) != 1 || dig(l, 0, "version") != "2" {
		t.Fatalf("latest versions: %v", lv)
	}
	e.ok("alice", "POST", "/registered-models/alias", map[string]any{"name": "clf", "alias": "champion", "version": "1"})
	e.fails("alice", "POST", "/registered-models/alias", map[string]any{"name": "clf", "alias": "champion", "version": "7"}, 404, "RESOURCE_DOES_NOT_EXIST")
	e.fails("alice", "POST", "/registered-models/alias", map[string]any{"name": "clf", "alias": "latest", "version": "1"}, 400, "INVALID_PARAMETER_VALUE")
	byAlias := e.ok("val", "GET", "/registered-models/alias", map[string]string{"name": "clf", "alias": "champion"})
	if dig(byAlias, "model_version", "version") != "1" || dig(byAlias, "model_version", "aliases", 0) != "champion" {
		t.Fatalf("get by alias: %v", byAlias)
	}
	got := e.ok("val", "GET", "/registered-models/get", map[string]string{"name": "clf"})
	if dig(got, "registered_model", "aliases", 0, "alias") != "champion" || dig(got, "registered_model", "aliases", 0, "version") != "1" ||
		dig(got, "registered_model", "latest_versions", 0, "version") != "2" {
		t.Fatalf("get model: %v", got)
	}
	e.ok("alice", "PATCH", "/registered-models/update", map[string]any{"name": "clf", "description": "new"})
	e.ok("alice", "PATCH", "/model-versions/update", map[string]any{"name": "clf", "version": "1", "description": "first"})
	e.ok("alice", "POST", "/model-versions/set-tag", map[string]any{"name": "clf", "version": "1", "key": "stage", "value": "prod"})
	e.ok("alice", "DELETE", "/model-versions/delete-tag", map[string]any{"name": "clf", "version": "1", "key": "stage"})
	e.ok("alice", "POST", "/registered-models/set-tag", map[string]any{"name": "clf", "key": "k2", "value": "v2"})
	e.ok("alice", "DELETE", "/registered-models/delete-tag", map[string]any{"name": "clf", "key": "k2"})
	uri := e.ok("val", "GET", "/model-versions/get-download-uri", map[string]string{"name": "clf", "version": "1"})
	if uri["artifact_uri"] != "mlflow-artifacts:/0/"+runID+"/artifacts/model" {
		t.Fatalf("download uri: %v", uri)
	}
	e.ok("alice", "POST", "/registered-models/create", map[string]any{"name": "other"})
	s := e.ok("val", "GET", "/registered-models/search", map[string]string{"filter": "name LIKE 'cl%'"})
	if l := s["registered_models"].([]any); len(l) != 1 || dig(l, 0, "description") != "new" {
		t.Fatalf("search models: %v", s)
	}
	p1 := e.ok("val", "GET", "/registered-models/search", map[string]string{"max_results": "1"})
	p2 := e.ok("val", "GET", "/registered-models/search", map[string]string{"max_results": "1", "page_token": str(p1["next_page_token"])})
	if dig(p1, "registered_models", 0, "name") != "clf" || dig(p2, "registered_models", 0, "name") != "other" || p2["next_page_token"] != nil {
		t.Fatalf("model pages: %v %v", p1, p2)
	}
	vs := e.ok("val", "GET", "/model-versions/search", map[string]string{"filter": "name = 'clf' AND run_id = '" + runID + "'"})
	if l := vs["model_versions"].([]any); len(l) != 2 || dig(l, 0, "version") != "2" {
		t.Fatalf("search versions: %v", vs)
	}
	renamed := e.ok("alice", "POST", "/registered-models/rename", map[string]any{"name": "clf", "new_name": "clf2"})
	if dig(renamed, "registered_model", "name") != "clf2" {
		t.Fatalf("rename: %v", renamed)
	}
	e.ok("val", "GET", "/registered-models/alias", map[string]string{"name": "clf2", "alias": "champion"})
	e.ok("alice", "DELETE", "/registered-models/alias", map[string]any{"name": "clf2", "alias": "champion"})
	e.fails("val", "GET", "/registered-models/alias", map[string]string{"name": "clf2", "alias": "champion"}, 404, "RESOURCE_DOES_NOT_EXIST")
	e.ok("alice", "DELETE", "/model-versions/delete", map[string]any{"name": "clf2", "version": "1"})
	e.fails("val", "GET", "/model-versions/get", map[string]string{"name": "clf2", "version": "1"}, 404, "RESOURCE_DOES_NOT_EXIST")
	e.ok("alice", "DELETE", "/registered-models/delete", map[string]any{"name": "clf2"})
	e.fails("val", "GET", "/registered-models/get", map[string]string{"name": "clf2"}, 404, "RESOURCE_DOES_NOT_EXIST")
	if n := e.count("SELECT count(*) FROM audit WHERE action IN ('mlflow.createRegisteredModel', 'mlflow.createModelVersion', 'mlflow.setRegisteredModelAlias', 'mlflow.renameRegisteredModel', 'mlflow.deleteRegisteredModel') AND tenant = 'team-a'"); n != 7 {
		t.Fatalf("%d registry audit rows, want 7", n)
	}
}
