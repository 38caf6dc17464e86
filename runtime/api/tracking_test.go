package api

import (
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// TestGetModelVersionReadsOneVersionToTheTenantsMembersOnly reads a version
// made by a pipeline step and one registered from outside tracking, as a
// viewer; missing models and versions are 404s naming them, bad numbers
// 422s naming the version, and other tenants and anonymous callers see nothing.
func TestGetModelVersionReadsOneVersionToTheTenantsMembersOnly(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	alice := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(201, "POST", "/api/v1/tenants/ml/pipelines", alice, map[string]any{"name": "train", "yaml": apiSpec})
	run, _, trainRun := lineageRun(t, e, alice, hexDigest("data"), "", 1)
	err := e.db.Write(t.Context(), func(tx *store.Tx) error {
		_, err := tx.CreateModelVersion(t.Context(), store.ModelVersion{Tenant: "ml", Name: "digits", Source: "s3://elsewhere/model",
			Description: "the tuned one", Tags: []store.KV{{Key: "team", Value: "vision"}}})
		if err != nil {
			return err
		}
		return tx.SetModelAlias(t.Context(), "ml", "digits", "champion", 2)
	})
	if err != nil {
		t.Fatal(err)
	}
	carol := e.user("carol")
	e.must(200, "PUT", "/api/v1/tenants/ml/members/carol", alice, map[string]any{"role": "viewer"})

	one := e.must(200, "GET", "/api/v1/tenants/ml/models/digits/versions/1", carol, nil)
	if one.body["model"] != "digits" || one.body["version"].(float64) != 1 || one.body["runId"] != trainRun ||
		one.body["step"] != "train" || one.body["pipelineRun"] != run || one.body["status"] != "READY" {
		t.Errorf("version 1, made by the train step: %s", one.raw)
	}
	two := e.must(200, "GET", "/api/v1/tenants/ml/models/digits/versions/2", carol, nil)
	aliases, _ := two.body["aliases"].([]any)
	tags, _ := two.body["tags"].(map[string]any)
	if two.body["version"].(float64) != 2 || two.body["source"] != "s3://elsewhere/model" || two.body["description"] != "the tuned one" ||
		len(aliases) != 1 || aliases[0] != "champion" || tags["team"] != "vision" || two.body["runId"] != nil || two.body["step"] != nil {
		t.Errorf("version 2, from outside tracking: %s", two.raw)
	}
	// It is the version the list shows.
	list := runsOf(e.must(200, "GET", "/api/v1/tenants/ml/models/digits/versions", carol, nil).body["items"])
	if len(list) != 2 || list[1]["step"] != one.body["step"] || list[1]["createdAt"] != one.body["createdAt"] {
		t.Errorf("the list's version 1 %v, the read's %s", list, one.raw)
	}

	// Missing: the problem says what is missing.
	for path, missing := range map[string]string{
		"/api/v1/tenants/ml/models/digits/versions/3": "version=3",
		"/api/v1/tenants/ml/models/nope/versions/1":   `"nope"`,
	} {
		r := e.must(404, "GET", path, carol, nil)
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" || !strings.Contains(r.body["detail"].(string), missing) {
			t.Errorf("%s: %s %s, want a problem naming %s", path, ct, r.raw, missing)
		}
	}
	// Not a version number: a 422 naming it.
	for _, bad := range []string{"0", "-1", "abc", "1.5", "99999999999999999999"} {
		r := e.must(422, "GET", "/api/v1/tenants/ml/models/digits/versions/"+bad, carol, nil)
		if loc := problemAt(t, r); loc != "path.version" {
			t.Errorf("version %s: location %q: %s", bad, loc, r.raw)
		}
	}
	// Another tenant's member sees neither the version nor the model under its own tenant; no token is a 401.
	bob := e.tenant("other", "bob", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(404, "GET", "/api/v1/tenants/ml/models/digits/versions/1", bob, nil)
	e.must(404, "GET", "/api/v1/tenants/other/models/digits/versions/1", bob, nil)
	e.must(404, "GET", "/api/v1/tenants/ml/models/digits/versions/1", e.user("mallory"), nil)
	e.must(401, "GET", "/api/v1/tenants/ml/models/digits/versions/1", "", nil)
}
