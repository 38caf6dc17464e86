package server

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/client"
)

// TestRegistryChangesAndRunDataThroughFerrysAPI: a version is registered
// from a run's model directory (the model made on the way), an alias moved
// and removed, a metric's series and the artifact tree read back; bad input
// names its field and writes nothing, viewers cannot change the registry,
// another tenant finds nothing, and each change is one audit row.
func TestRegistryChangesAndRunDataThroughFerrysAPI(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, bob := e.twoTenants()
	viewer := e.user("vic")
	e.must(200, "PUT", "/api/v1/tenants/a/members/vic", alice, map[string]any{"role": "viewer"})
	run := e.must(200, "POST", "/mlflow/a/api/2.0/mlflow/runs/create", alice, map[string]any{"experiment_id": "0"}).body["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	for step, v := range []float64{0.5, 0.7, 0.9} {
		e.must(200, "POST", "/mlflow/a/api/2.0/mlflow/runs/log-metric", alice, map[string]any{"run_id": run, "key": "acc", "value": v, "timestamp": 1, "step": step})
	}
	req, _ := http.NewRequest("PUT", e.url+"/mlflow/a/api/2.0/mlflow-artifacts/artifacts/0/"+run+"/artifacts/model/model.joblib", bytes.NewReader([]byte("weights")))
	req.Header.Set("Authorization", "Bearer "+alice)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", err, resp)
	}

	hist := e.must(200, "GET", "/api/v1/tenants/a/runs/"+run+"/metrics/acc?limit=2", viewer, nil)
	if items := hist.body["items"].([]any); len(items) != 2 || hist.body["next"] == nil {
		t.Fatalf("first page of the series: %s", hist.raw)
	}
	arts := e.must(200, "GET", "/api/v1/tenants/a/runs/"+run+"/artifacts?path=model", viewer, nil)
	if !strings.Contains(arts.raw, `"path":"model/model.joblib"`) || !strings.Contains(arts.raw, `"digest":"`) {
		t.Fatalf("artifacts under model/: %s", arts.raw)
	}
	e.must(422, "GET", "/api/v1/tenants/a/runs/"+run+"/artifacts?path=../x", viewer, nil)

	before := e.auditCount()
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"runId": "nope"}, "body.runId"},
		{map[string]any{"runId": run, "path": "weights"}, "body.path"},
		{map[string]any{"runId": run, "path": "../model"}, "body.path"},
	} {
		if a := e.do("POST", "/api/v1/tenants/a/models/digits/versions", alice, c.body); a.status != 422 || !strings.Contains(a.raw, c.field) {
			t.Errorf("register %v: %d %s, want 422 naming %s", c.body, a.status, a.raw, c.field)
		}
	}
	e.must(404, "GET", "/api/v1/tenants/a/models/digits", alice, nil) // nothing half-made
	e.must(403, "POST", "/api/v1/tenants/a/models/digits/versions", viewer, map[string]any{"runId": run})
	e.must(404, "POST", "/api/v1/tenants/a/models/digits/versions", bob, map[string]any{"runId": run})
	if after := e.auditCount(); after != before+5 {
		t.Errorf("refused registrations wrote %d audit rows, want 5 (one per refused call)", after-before)
	}

	v := e.must(201, "POST", "/api/v1/tenants/a/models/digits/versions", alice, map[string]any{"runId": run, "description": "first"})
	if v.body["version"].(float64) != 1 || v.body["source"] != "mlflow-artifacts:/0/"+run+"/artifacts/model" || v.body["runId"] != run {
		t.Fatalf("registered version: %s", v.raw)
	}
	e.must(201, "POST", "/api/v1/tenants/a/models/digits/versions", alice, map[string]any{"runId": run})
	for _, bad := range []string{"latest", "v3", "1abc", "has space"} {
		if a := e.do("PUT", "/api/v1/tenants/a/models/digits/aliases/"+strings.ReplaceAll(bad, " ", "%20"), alice, map[string]any{"version": 1}); a.status != 422 {
			t.Errorf("alias %q: %d %s, want 422", bad, a.status, a.raw)
		}
	}
	e.must(422, "PUT", "/api/v1/tenants/a/models/digits/aliases/champion", alice, map[string]any{"version": 7})
	e.must(200, "PUT", "/api/v1/tenants/a/models/digits/aliases/champion", alice, map[string]any{"version": 2})
	got := e.must(200, "GET", "/mlflow/a/api/2.0/mlflow/registered-models/alias?name=digits&alias=champion", viewer, nil)
	if !strings.Contains(got.raw, `"version":"2"`) {
		t.Fatalf("models:/digits@champion after the move: %s", got.raw)
	}
	e.must(403, "DELETE", "/api/v1/tenants/a/models/digits/aliases/champion", viewer, nil)
	e.must(204, "DELETE", "/api/v1/tenants/a/models/digits/aliases/champion", alice, nil)
	e.must(404, "GET", "/mlflow/a/api/2.0/mlflow/registered-models/alias?name=digits&alias=champion", viewer, nil)
	for _, p := range []string{"/api/v1/tenants/a/runs/" + run + "/metrics/acc", "/api/v1/tenants/a/runs/" + run + "/artifacts"} {
		e.must(404, "GET", p, bob, nil)
	}

	// The typed client downloads the artifact and checks its digest.
	c := client.New(e.url, client.WithToken(viewer))
	var buf bytes.Buffer
	digest, err := c.DownloadArtifact(t.Context(), "a", "0", run, "model/model.joblib", &buf)
	if err != nil || buf.String() != "weights" || len(digest) != 64 {
		t.Fatalf("download: %v %q %s", err, buf.String(), digest)
	}
}
