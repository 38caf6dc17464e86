package mlflow

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"testing"
)

func TestOtherTenantsGet404AndViewersCannotWrite(t *testing.T) {
	e := newEnv(t)
	e.t = t
	paths := []string{artifactsPath + "/0/x/artifacts/f"}
	for p := range routes {
		paths = append(paths, p)
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			// bob edits team-b only: team-a does not exist for him, on every path and method.
			if st, out := e.call("bob", m, "/mlflow/team-a"+p, map[string]any{}); st != 404 || out["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
				t.Errorf("bob %s %s: %d %v", m, p, st, out)
			}
		}
	}
	e.fails("alice", "GET", "/mlflow/no-such-tenant"+api+"/experiments/search", nil, 404, "RESOURCE_DOES_NOT_EXIST")
	for p, ep := range routes {
		if !ep.write {
			continue
		}
		for _, m := range ep.methods {
			if st, out := e.call("val", m, "/mlflow/team-a"+p, map[string]any{}); st != 403 || out["error_code"] != "PERMISSION_DENIED" {
				t.Errorf("viewer %s %s: %d %v", m, p, st, out)
			}
		}
	}
	e.fails("val", "POST", "/registered-models/alias", map[string]any{"name": "m", "alias": "a", "version": "1"}, 403, "PERMISSION_DENIED")
	e.ok("val", "POST", "/runs/search", map[string]any{"experiment_ids": []string{"0"}})
}

func TestUnauthenticatedRequestsWriteNothing(t *testing.T) {
	e := newEnv(t)
	e.t = t
	before := e.count("SELECT (SELECT count(*) FROM experiments) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM audit)")
	for p, ep := range routes {
		for _, m := range ep.methods {
			if st, out := e.call("", m, "/mlflow/team-a"+p, map[string]any{"name": "x", "experiment_id": "0"}); st != 401 || out["error_code"] != "UNAUTHENTICATED" {
				t.Errorf("anonymous %s %s: %d %v", m, p, st, out)
			}
		}
	}
	e.tokens["forged"] = "ferry_not-a-real-token"
	e.fails("forged", "POST", "/experiments/create", map[string]any{"name": "x"}, 401, "UNAUTHENTICATED")
	if after := e.count("SELECT (SELECT count(*) FROM experiments) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM audit)"); after != before {
		t.Fatalf("unauthenticated requests wrote %d rows", after-before)
	}
}

func TestBasicAuthWithTheTokenAsPassword(t *testing.T) {
	e := newEnv(t)
	e.t = t
	req, _ := http.NewRequest("POST", e.srv.URL+"/mlflow/team-a"+api+"/experiments/create", bytes.NewReader([]byte(`{"name":"via-basic"}`)))
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:"+e.tokens["alice"])))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("basic auth: %d", resp.StatusCode)
	}
}
