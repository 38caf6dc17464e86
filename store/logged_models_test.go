package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func mustLoggedModel(t *testing.T, db *DB, ctx context.Context, m LoggedModel) LoggedModel {
	t.Helper()
	err := db.Write(ctx, func(tx *Tx) (err error) {
		m, err = tx.CreateLoggedModel(ctx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestALoggedModelIsCreatedPendingWithItsTreeUnderTheExperiment(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	run := mustRun(t, db, ctx, "team-a", 0)
	m := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", ExperimentID: 0, Name: "clf", ModelType: "Classifier", SourceRunID: run.Info.ID,
		Tags: []KV{{"mlflow.user", "alice"}}, Params: []KV{{"C", "1.0"}}})
	if len(m.ID) != 34 || !strings.HasPrefix(m.ID, "m-") {
		t.Errorf("id %q is not m-<32 hex>", m.ID)
	}
	if m.Status != LoggedModelPending || m.LifecycleStage != StageActive {
		t.Errorf("status %s stage %s, want PENDING active", m.Status, m.LifecycleStage)
	}
	if want := "mlflow-artifacts:/0/models/" + m.ID + "/artifacts"; m.ArtifactLocation != want {
		t.Errorf("artifact location %q, want %q", m.ArtifactLocation, want)
	}
	if len(m.Tags) != 1 || len(m.Params) != 1 || m.Params[0] != (KV{"C", "1.0"}) {
		t.Errorf("tags %v params %v", m.Tags, m.Params)
	}
	unnamed := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a"})
	if !strings.HasPrefix(unnamed.Name, "model-") {
		t.Errorf("a model without a name is named %q", unnamed.Name)
	}

	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.FinalizeLoggedModel(ctx, "team-a", m.ID, LoggedModelPending); !errors.Is(err, ErrInvalid) {
			t.Errorf("finalize as PENDING: %v, want ErrInvalid", err)
		}
		got, err := tx.FinalizeLoggedModel(ctx, "team-a", m.ID, LoggedModelReady)
		if err != nil || got.Status != LoggedModelReady {
			t.Errorf("finalize READY: %v %v", got.Status, err)
		}
		// Another tenant does not see it.
		if _, err := tx.LoggedModel(ctx, "team-b", m.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("team-b reads team-a's model: %v", err)
		}
		if _, err := tx.CreateLoggedModel(ctx, LoggedModel{Tenant: "team-b", SourceRunID: run.Info.ID}); !errors.Is(err, ErrInvalid) {
			t.Errorf("a model from another tenant's run: %v, want ErrInvalid", err)
		}
		if _, err := tx.CreateLoggedModel(ctx, LoggedModel{Tenant: "team-a", ExperimentID: 9}); !errors.Is(err, ErrNotFound) {
			t.Errorf("a model in a missing experiment: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoggedModelTagsAndParamsAreBoundedAndParamsImmutable(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	m := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", Params: []KV{{"alpha", "0.1"}}})
	err := db.Write(ctx, func(tx *Tx) error {
		long := strings.Repeat("k", MaxKeyLength+1)
		if _, err := tx.SetLoggedModelTags(ctx, "team-a", m.ID, []KV{{"ok", "v"}, {long, "v"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("over-long tag key: %v", err)
		}
		if _, err := tx.SetLoggedModelTags(ctx, "team-a", m.ID, []KV{{"k", strings.Repeat("v", MaxTagValueLength+1)}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("over-long tag value: %v", err)
		}
		if err := tx.LogLoggedModelParams(ctx, "team-a", m.ID, []KV{{"alpha", "0.1"}, {"beta", "2"}}); err != nil {
			t.Errorf("the same param again and a new one: %v", err)
		}
		if err := tx.LogLoggedModelParams(ctx, "team-a", m.ID, []KV{{"alpha", "0.2"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("a changed param: %v, want ErrInvalid", err)
		}
		many := make([]KV, MaxLoggedModelParams+1)
		for i := range many {
			many[i] = KV{Key: "p" + strings.Repeat("x", i), Value: "v"}
		}
		if err := tx.LogLoggedModelParams(ctx, "team-a", m.ID, many); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d params at once: %v", len(many), err)
		}
		if err := tx.DeleteLoggedModelTag(ctx, "team-a", m.ID, "missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete a missing tag: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got LoggedModel
	if err := db.Read(ctx, func(tx *Tx) (err error) { got, err = tx.LoggedModel(ctx, "team-a", m.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if len(got.Tags) != 0 || len(got.Params) != 2 || got.Params[0] != (KV{"alpha", "0.1"}) {
		t.Errorf("after refused writes: tags %v params %v", got.Tags, got.Params)
	}
}

func TestSearchLoggedModelsFiltersAttributesTagsAndParamsAndPages(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	a := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", Name: "svm", ModelType: "Classifier", Tags: []KV{{"team", "x"}}, Params: []KV{{"C", "1"}}})
	b := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", Name: "tree", ModelType: "Classifier", Params: []KV{{"C", "2"}}})
	c := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", Name: "llm", ModelType: "LLM"})
	mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-b", Name: "svm"})
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.FinalizeLoggedModel(ctx, "team-a", b.ID, LoggedModelReady); err != nil {
			return err
		}
		return tx.DeleteLoggedModel(ctx, "team-a", c.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	search := func(fs []Filter, os []Order, off, limit int) ([]string, error) {
		var ms []LoggedModel
		err := db.Read(ctx, func(tx *Tx) (err error) {
			ms, err = tx.SearchLoggedModels(ctx, LoggedModelQuery{Tenant: "team-a", ExperimentIDs: []int64{0}, Filters: fs, Orders: os, Offset: off, Limit: limit})
			return err
		})
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
		}
		return names, err
	}
	for _, tc := range []struct {
		name string
		fs   []Filter
		want string
	}{
		{"all live, deleted gone", nil, "svm,tree"},
		{"name", []Filter{{FilterAttribute, "name", "=", "svm"}}, "svm"},
		{"name like", []Filter{{FilterAttribute, "name", "LIKE", "t%"}}, "tree"},
		{"status short form", []Filter{{FilterAttribute, "status", "=", "READY"}}, "tree"},
		{"status in", []Filter{{FilterAttribute, "status", "IN", []string{"LOGGED_MODEL_PENDING"}}}, "svm"},
		{"model_type", []Filter{{FilterAttribute, "model_type", "=", "Classifier"}}, "svm,tree"},
		{"tag", []Filter{{FilterTag, "team", "=", "x"}}, "svm"},
		{"param", []Filter{{FilterParam, "C", "=", "2"}}, "tree"},
		{"param and attribute", []Filter{{FilterParam, "C", "!=", "2"}, {FilterAttribute, "model_type", "=", "Classifier"}}, "svm"},
		{"numeric attribute", []Filter{{FilterAttribute, "creation_timestamp", ">", float64(0)}}, "svm,tree"},
	} {
		got, err := search(tc.fs, []Order{{Kind: FilterAttribute, Key: "name"}}, 0, 10)
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("%s: %v %v, want %s", tc.name, got, err, tc.want)
		}
	}
	if got, _ := search(nil, []Order{{Kind: FilterAttribute, Key: "name", Desc: true}}, 1, 1); strings.Join(got, ",") != "svm" {
		t.Errorf("second page of name DESC: %v", got)
	}
	for _, fs := range [][]Filter{
		{{FilterMetric, "acc", ">", "high"}},
		{{FilterAttribute, "nope", "=", "x"}},
		{{FilterAttribute, "status", "=", "DONE"}},
		{{FilterTag, "team", ">", "x"}},
	} {
		if _, err := search(fs, nil, 0, 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("filter %v: %v, want ErrInvalid", fs, err)
		}
	}
	if _, err := search(nil, []Order{{Kind: FilterTag, Key: "team"}}, 0, 10); !errors.Is(err, ErrInvalid) {
		t.Errorf("order by a tag: %v, want ErrInvalid", err)
	}
	_ = a
}

func TestALoggedModelsArtifactTreeIsItsOwnAndSharesBlobs(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	run := mustRun(t, db, ctx, "team-a", 0)
	m := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", SourceRunID: run.Info.ID})
	d := strings.Repeat("a", 64)
	err := db.Write(ctx, func(tx *Tx) error {
		if err := tx.PutArtifact(ctx, "team-a", ModelTree(m.ID), "model/model.pkl", d, 3); err != nil {
			return err
		}
		if err := tx.PutArtifact(ctx, "team-a", ModelTree(m.ID), "MLmodel", d, 3); err != nil {
			return err
		}
		if err := tx.PutRunArtifact(ctx, "team-a", run.Info.ID, "model.pkl", d, 3); err != nil {
			return err
		}
		if err := tx.PutArtifact(ctx, "team-b", ModelTree(m.ID), "x", d, 3); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant writes the model's tree: %v", err)
		}
		root, err := tx.ListArtifacts(ctx, "team-a", ModelTree(m.ID), "")
		if err != nil {
			return err
		}
		if len(root) != 2 || root[0].Path != "MLmodel" || !root[1].IsDir || root[1].Path != "model" {
			t.Errorf("model root: %+v", root)
		}
		runRoot, err := tx.ListRunArtifacts(ctx, "team-a", run.Info.ID, "")
		if err != nil || len(runRoot) != 1 {
			t.Errorf("the run's tree holds the model's files: %+v %v", runRoot, err)
		}
		e, err := tx.Artifact(ctx, "team-a", ModelTree(m.ID), "model/model.pkl")
		if err != nil || e.Digest != d {
			t.Errorf("read back: %+v %v", e, err)
		}
		return tx.DeleteLoggedModel(ctx, "team-a", m.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Read(ctx, func(tx *Tx) error {
		var n int
		if err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM artifact_blobs").Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("%d blobs for one digest", n)
		}
		if _, err := tx.Artifact(ctx, "team-a", ModelTree(m.ID), "MLmodel"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a deleted model's file: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAVersionFromALoggedModelTakesItsRunAndIsListedAsARegistration(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	run := mustRun(t, db, ctx, "team-a", 0)
	m := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", SourceRunID: run.Info.ID})
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateRegisteredModel(ctx, RegisteredModel{Tenant: "team-a", Name: "digits"}); err != nil {
			return err
		}
		v, err := tx.CreateModelVersion(ctx, ModelVersion{Tenant: "team-a", Name: "digits", Source: "models:/" + m.ID, ModelID: m.ID})
		if err != nil {
			return err
		}
		if v.ModelID != m.ID || v.RunID != run.Info.ID {
			t.Errorf("version model %q run %q, want %s %s", v.ModelID, v.RunID, m.ID, run.Info.ID)
		}
		if _, err := tx.CreateModelVersion(ctx, ModelVersion{Tenant: "team-a", Name: "digits", Source: "x", ModelID: "m-" + strings.Repeat("0", 32)}); !errors.Is(err, ErrNotFound) {
			t.Errorf("a version of a missing logged model: %v", err)
		}
		got, err := tx.LoggedModel(ctx, "team-a", m.ID)
		if err != nil {
			return err
		}
		if len(got.Registrations) != 1 || got.Registrations[0] != (ModelRegistration{"digits", 1}) {
			t.Errorf("registrations %+v", got.Registrations)
		}
		if err := tx.LogRunOutputs(ctx, "team-a", run.Info.ID, []ModelOutput{{m.ID, 3}, {m.ID, 3}}); err != nil {
			return err
		}
		outs, err := tx.RunOutputs(ctx, "team-a", run.Info.ID)
		if err != nil || len(outs) != 1 || outs[0] != (ModelOutput{m.ID, 3}) {
			t.Errorf("run outputs %+v %v", outs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
