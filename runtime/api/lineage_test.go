package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

func hexDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// lineageRun submits a run of the train pipeline (apiSpec) and records what
// its engine would have: prep's run uploaded the data, train's run got it
// as its input and registered a model version from its model directory.
// With cachedFrom, prep is a cache hit on that run's prep (no run of its own).
func lineageRun(t *testing.T, e *apiEnv, tok, data, cachedFrom string, version int64) (run, prepRun, trainRun string) {
	t.Helper()
	r := e.must(201, "POST", "/api/v1/tenants/ml/pipelines/train/runs", tok, map[string]any{"parameters": map[string]string{"lr": fmt.Sprint(version)}})
	run = r.body["id"].(string)
	ctx := t.Context()
	err := e.db.Write(ctx, func(tx *store.Tx) error {
		pr, err := tx.PipelineRun(ctx, "ml", run)
		if err != nil {
			return err
		}
		prep := store.PipelineStep{RunID: pr.ID, Name: "prep", Step: "prep", State: "succeeded", Outputs: map[string]string{"data": "sha256:" + data}}
		key := hexDigest("prep cache key")
		if cachedFrom == "" {
			if prepRun, err = tx.CreateStepRun(ctx, pr, "prep", nil); err != nil {
				return err
			}
			if err := tx.PutRunArtifact(ctx, "ml", prepRun, "outputs/data", data, 4); err != nil {
				return err
			}
			prep.ChildRun, prep.CacheKey = prepRun, key
			if err := tx.PutPipelineCache(ctx, "ml", store.CacheEntry{Key: key, RunID: run, Step: "prep", Outputs: prep.Outputs}); err != nil {
				return err
			}
		} else {
			prep.State, prep.CacheKey, prep.CachedFrom = "cached", key, cachedFrom
		}
		if err := tx.PutPipelineStep(ctx, prep); err != nil {
			return err
		}
		if trainRun, err = tx.CreateStepRun(ctx, pr, "train", map[string]string{"data": data}); err != nil {
			return err
		}
		if err := tx.PutRunArtifact(ctx, "ml", trainRun, "model/model.pkl", hexDigest(fmt.Sprint("model", version)), 5); err != nil {
			return err
		}
		if err := tx.PutPipelineStep(ctx, store.PipelineStep{RunID: pr.ID, Name: "train", Step: "train", State: "succeeded", ChildRun: trainRun}); err != nil {
			return err
		}
		if version == 1 {
			if _, err := tx.CreateRegisteredModel(ctx, store.RegisteredModel{Tenant: "ml", Name: "digits"}); err != nil {
				return err
			}
		}
		_, err = tx.CreateModelVersion(ctx, store.ModelVersion{Tenant: "ml", Name: "digits", Source: "mlflow-artifacts:/1/" + trainRun + "/artifacts/model", RunID: trainRun})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return run, prepRun, trainRun
}

func runsOf(v any) []map[string]any {
	var out []map[string]any
	for _, r := range v.([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func TestArtifactLineageNamesTheProducingAndConsumingStepsAndTheModelVersion(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(201, "POST", "/api/v1/tenants/ml/pipelines", tok, map[string]any{"name": "train", "yaml": apiSpec})
	data := hexDigest("data")
	run, prepRun, trainRun := lineageRun(t, e, tok, data, "", 1)

	l := e.must(200, "GET", "/api/v1/tenants/ml/lineage/artifacts/sha256:"+data, tok, nil)
	prod, cons := runsOf(l.body["producedBy"]), runsOf(l.body["consumedBy"])
	if len(prod) != 1 || prod[0]["runId"] != prepRun || prod[0]["step"] != "prep" || prod[0]["pipelineRun"] != run || prod[0]["path"] != "outputs/data" {
		t.Errorf("produced by: %s", l.raw)
	}
	if len(cons) != 1 || cons[0]["runId"] != trainRun || cons[0]["step"] != "train" || cons[0]["pipeline"] != "train" || cons[0]["path"] != "inputs/data" {
		t.Errorf("consumed by: %s", l.raw)
	}
	if l.body["digest"] != "sha256:"+data || l.body["size"].(float64) != 4 || l.body["models"] != nil {
		t.Errorf("the data is in no model version: %s", l.raw)
	}
	// The bare hex digest works too; the model's file names its version.
	m := e.must(200, "GET", "/api/v1/tenants/ml/lineage/artifacts/"+hexDigest("model1"), tok, nil)
	if models := runsOf(m.body["models"]); len(models) != 1 || models[0]["model"] != "digits" || models[0]["version"].(float64) != 1 ||
		runsOf(m.body["producedBy"])[0]["step"] != "train" {
		t.Errorf("the model file's lineage: %s", m.raw)
	}

	// The version list says which step made each version.
	vs := e.must(200, "GET", "/api/v1/tenants/ml/models/digits/versions", tok, nil)
	if v := runsOf(vs.body["items"])[0]; v["step"] != "train" || v["pipelineRun"] != run {
		t.Errorf("versions: %s", vs.raw)
	}

	// Unknown digest: 404; not a digest: 422 naming it; another tenant: 404.
	e.must(404, "GET", "/api/v1/tenants/ml/lineage/artifacts/sha256:"+hexDigest("nothing"), tok, nil)
	for _, bad := range []string{"sha256:abc", strings.ToUpper(data), "md5:" + data, strings.Repeat("g", 64)} {
		r := e.must(422, "GET", "/api/v1/tenants/ml/lineage/artifacts/"+bad, tok, nil)
		if loc := problemAt(t, r); loc != "path.digest" {
			t.Errorf("%s: location %s: %s", bad, loc, r.raw)
		}
	}
	other := e.tenant("other", "bob", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(404, "GET", "/api/v1/tenants/ml/lineage/artifacts/sha256:"+data, other, nil)
	e.must(404, "GET", "/api/v1/tenants/other/lineage/artifacts/sha256:"+data, other, nil)
	e.must(404, "GET", "/api/v1/tenants/ml/models/digits/versions/1/lineage", other, nil)
	e.must(401, "GET", "/api/v1/tenants/ml/lineage/artifacts/sha256:"+data, "", nil)
}

func TestModelVersionLineageWalksUpstreamStepsAndThroughCacheHits(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "8Gi"})
	e.must(201, "POST", "/api/v1/tenants/ml/pipelines", tok, map[string]any{"name": "train", "yaml": apiSpec})
	data := hexDigest("data")
	run1, _, _ := lineageRun(t, e, tok, data, "", 1)
	run2, _, train2 := lineageRun(t, e, tok, data, run1, 2)

	l := e.must(200, "GET", "/api/v1/tenants/ml/models/digits/versions/2/lineage", tok, nil)
	by := l.body["madeBy"].(map[string]any)
	if by["runId"] != train2 || by["step"] != "train" || by["pipelineRun"] != run2 {
		t.Fatalf("made by: %s", l.raw)
	}
	steps := runsOf(l.body["steps"])
	var keys []string
	for _, s := range steps {
		keys = append(keys, fmt.Sprintf("%s@%v", s["key"], s["depth"]))
	}
	// train (run 2) ← prep (run 2, cached) ← prep (run 1, which produced the data).
	want := []string{run2 + "/train@0", run2 + "/prep@1", run1 + "/prep@2"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("steps %v, want %v: %s", keys, want, l.raw)
	}
	if in := steps[0]["inputs"].(map[string]any); in["data"] != "sha256:"+data {
		t.Errorf("train's inputs: %v", in)
	}
	if up := steps[1]["upstream"].([]any); len(up) != 1 || up[0] != run1+"/prep" || steps[1]["cachedFrom"] != run1 {
		t.Errorf("the cached prep's upstream: %v", steps[1])
	}
	if arts := l.body["artifacts"].([]any); len(arts) != 1 || arts[0] != "sha256:"+data || l.body["truncated"] != nil {
		t.Errorf("artifacts: %s", l.raw)
	}
	// Bounded: depth 1 stops before run 1's prep and says so.
	short := e.must(200, "GET", "/api/v1/tenants/ml/models/digits/versions/2/lineage?depth=1", tok, nil)
	if n := len(short.body["steps"].([]any)); n != 2 || short.body["truncated"] != true {
		t.Errorf("depth 1: %d steps: %s", n, short.raw)
	}
	one := e.must(200, "GET", "/api/v1/tenants/ml/models/digits/versions/2/lineage?steps=1", tok, nil)
	if n := len(one.body["steps"].([]any)); n != 1 || one.body["truncated"] != true {
		t.Errorf("steps 1: %d steps: %s", n, one.raw)
	}
	e.must(422, "GET", "/api/v1/tenants/ml/models/digits/versions/2/lineage?depth=0", tok, nil)
	e.must(422, "GET", "/api/v1/tenants/ml/models/digits/versions/0/lineage", tok, nil)
	e.must(404, "GET", "/api/v1/tenants/ml/models/digits/versions/9/lineage", tok, nil)
	e.must(404, "GET", "/api/v1/tenants/ml/models/nope/versions/1/lineage", tok, nil)

	// A version from a run that is no step's has its run and no steps.
	err := e.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.CreateModelVersion(t.Context(), store.ModelVersion{Tenant: "ml", Name: "digits", Source: "s3://elsewhere/model"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	bare := e.must(200, "GET", "/api/v1/tenants/ml/models/digits/versions/3/lineage", tok, nil)
	if len(bare.body["steps"].([]any)) != 0 || bare.body["madeBy"].(map[string]any)["step"] != nil {
		t.Errorf("a version of no step: %s", bare.raw)
	}
}
