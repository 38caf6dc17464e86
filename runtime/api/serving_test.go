package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// registerModel puts versions 1 (with a model file), 2 (with one) and 3
// (without) of model iris into tenant's registry, alias champion → 1.
func registerModel(t *testing.T, e *apiEnv, tenant string) {
	t.Helper()
	ctx := t.Context()
	err := e.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateRegisteredModel(ctx, store.RegisteredModel{Tenant: tenant, Name: "iris"}); err != nil {
			return err
		}
		for i, withFile := range []bool{true, true, false} {
			run, err := tx.CreateJobRun(ctx, tenant, "", "train", "alice")
			if err != nil {
				return err
			}
			if withFile {
				if err := tx.PutRunArtifact(ctx, tenant, run.ID, "model/model.joblib", strings.Repeat(string(rune('a'+i)), 64), 10); err != nil {
					return err
				}
			}
			if _, err := tx.CreateModelVersion(ctx, store.ModelVersion{Tenant: tenant, Name: "iris", Source: "runs:/" + run.ID + "/model", RunID: run.ID}); err != nil {
				return err
			}
		}
		return tx.SetModelAlias(ctx, tenant, "iris", "champion", 1)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeploymentsRefuseBadInputCanaryPromoteRollbackAndIsolateTenants(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "8", "memory": "16Gi"})
	other := e.tenant("other", "bob", map[string]any{"cpu": "8", "memory": "16Gi"})
	registerModel(t, e, "ml")
	base := "/api/v1/tenants/ml/deployments"
	for _, c := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"unknown model", map[string]any{"name": "d", "model": "nope/1"}, "body.model"},
		{"unknown version", map[string]any{"name": "d", "model": "iris/9"}, "body.model"},
		{"unknown alias", map[string]any{"name": "d", "model": "iris@nope"}, "body.model"},
		{"version without an artifact", map[string]any{"name": "d", "model": "iris/3"}, "body.model"},
		{"min over max", map[string]any{"name": "d", "model": "iris/1", "min": 3, "max": 2}, "body.min"},
		{"bad name", map[string]any{"name": "D_1", "model": "iris/1"}, "body.name"},
		{"custom without image", map[string]any{"name": "d", "model": "iris/1", "runtime": "custom"}, "body.image"},
	} {
		r := e.must(422, "POST", base, tok, c.body)
		if got := problemAt(t, r); got != c.want {
			t.Errorf("%s: location %s, want %s: %s", c.name, got, c.want, r.raw)
		}
	}
	if l := e.must(200, "GET", base, tok, nil); len(l.body["items"].([]any)) != 0 {
		t.Fatalf("refused input stored a deployment: %s", l.raw)
	}
	d := e.must(201, "POST", base, tok, map[string]any{"name": "iris", "model": "iris@champion", "min": 0, "max": 2})
	revs := d.body["revisions"].([]any)
	if len(revs) != 1 || revs[0].(map[string]any)["weight"].(float64) != 100 || revs[0].(map[string]any)["digest"] != strings.Repeat("a", 64) {
		t.Fatalf("created: %s", d.raw)
	}
	e.must(409, "POST", base, tok, map[string]any{"name": "iris", "model": "iris/1"})
	for _, w := range []int{-1, 101} {
		r := e.must(422, "PATCH", base+"/iris", tok, map[string]any{"model": "iris/2", "canaryWeight": w})
		if got := problemAt(t, r); got != "body.canaryWeight" {
			t.Errorf("weight %d: location %s", w, got)
		}
	}
	u := e.must(200, "PATCH", base+"/iris", tok, map[string]any{"model": "iris/2", "canaryWeight": 20})
	weights := map[string]any{}
	for _, r := range u.body["revisions"].([]any) {
		m := r.(map[string]any)
		weights[m["name"].(string)] = m["role"].(string) + ":" + strings.TrimSuffix(strings.TrimSuffix(m["digest"].(string), "")[:1], "") + ":" + string(rune('0'+int(m["weight"].(float64))/10))
	}
	if weights["iris-r1"] != "stable:a:8" || weights["iris-r2"] != "canary:b:2" {
		t.Fatalf("after update: %v", weights)
	}
	p := e.must(200, "POST", base+"/iris/promote", tok, nil)
	if !strings.Contains(p.raw, `"promoted"`) {
		t.Errorf("promotion not in events: %s", p.raw)
	}
	e.must(409, "POST", base+"/iris/promote", tok, nil)
	rb := e.must(200, "POST", base+"/iris/rollback", tok, nil)
	for _, r := range rb.body["revisions"].([]any) {
		m := r.(map[string]any)
		if m["name"] == "iris-r1" && (m["role"] != "stable" || m["weight"].(float64) != 100) {
			t.Errorf("rollback without a canary did not restore r1: %s", rb.raw)
		}
	}

	k := e.must(201, "POST", base+"/iris/keys", tok, map[string]any{"name": "ci"})
	secret, _ := k.body["secret"].(string)
	if !strings.HasPrefix(secret, "ferry_dk_") {
		t.Fatalf("key: %s", k.raw)
	}
	if ks := e.must(200, "GET", base+"/iris/keys", tok, nil); strings.Contains(ks.raw, secret) || strings.Contains(ks.raw, `"secret"`) {
		t.Errorf("listing shows the secret: %s", ks.raw)
	}
	e.must(404, "GET", base+"/iris", other, nil)
	e.must(404, "PATCH", base+"/iris", other, map[string]any{"min": 1})
	e.must(404, "POST", base+"/iris/keys", other, map[string]any{})
	e.must(403, "GET", "/api/v1/serving/routes", tok, nil)
	rt := e.must(200, "GET", "/api/v1/serving/routes", e.admin, nil)
	if !strings.Contains(rt.raw, store.HashKey(secret)) || strings.Contains(rt.raw, secret) {
		t.Errorf("routing table lacks the key's hash or shows the key: %s", rt.raw)
	}
	e.must(404, "GET", base+"/iris/revisions/1/artifact", "", nil)
	// A key made for callers of the model may not download its weights.
	req, _ := http.NewRequest("GET", e.url+base+"/iris/revisions/1/artifact", nil)
	req.Header.Set("X-Ferry-Key", secret)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
		t.Errorf("a caller's key fetched the model file: %v %v", err, resp.StatusCode)
	} else {
		resp.Body.Close()
	}

	actions := map[string]bool{}
	for _, a := range e.audit() {
		if a.Target == "deployment/iris" && a.Result == "ok" {
			actions[a.Action] = true
		}
	}
	for _, want := range []string{"createDeployment", "updateDeployment", "promoteDeployment", "rollbackDeployment", "createDeploymentKey"} {
		if !actions[want] {
			t.Errorf("no audit row for %s: %v", want, actions)
		}
	}
	e.must(204, "DELETE", base+"/iris", tok, nil)
	e.must(404, "GET", base+"/iris", tok, nil)
}
