package store

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func trackingDB(t *testing.T) (*DB, context.Context) {
	t.Helper()
	clock := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	db := openTest(t, func() time.Time { return clock })
	ctx := t.Context()
	err := db.Write(ctx, func(tx *Tx) error {
		for _, n := range []string{"team-a", "team-b"} {
			if _, err := tx.CreateTenant(ctx, Tenant{Name: n, DisplayName: n, Quota: Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
				return err
			}
			if err := tx.EnsureDefaultExperiment(ctx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, ctx
}

func mustRun(t *testing.T, db *DB, ctx context.Context, tenant string, exp int64, tags ...KV) Run {
	t.Helper()
	var r Run
	err := db.Write(ctx, func(tx *Tx) error {
		var err error
		r, err = tx.CreateRun(ctx, NewRun{Tenant: tenant, ExperimentID: exp, UserID: "alice", Tags: tags})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestExperimentsAreNumberedPerTenantWithUniqueNames(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	err := db.Write(ctx, func(tx *Tx) error {
		a, err := tx.CreateExperiment(ctx, Experiment{Tenant: "team-a", Name: "exp", Tags: []KV{{"k", "v"}}})
		if err != nil {
			return err
		}
		b, err := tx.CreateExperiment(ctx, Experiment{Tenant: "team-b", Name: "exp"})
		if err != nil {
			return err
		}
		if a.ID != 1 || b.ID != 1 || a.ArtifactLocation != "mlflow-artifacts:/1" {
			t.Errorf("ids %d %d location %q", a.ID, b.ID, a.ArtifactLocation)
		}
		if _, err := tx.CreateExperiment(ctx, Experiment{Tenant: "team-a", Name: "exp"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate name: %v", err)
		}
		if _, err := tx.Experiment(ctx, "team-b", 2); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing experiment: %v", err)
		}
		got, err := tx.ExperimentByName(ctx, "team-a", "exp")
		if err != nil || len(got.Tags) != 1 || got.Tags[0].Value != "v" {
			t.Errorf("by name: %+v %v", got, err)
		}
		if err := tx.SetExperimentStage(ctx, "team-a", 1, StageDeleted); err != nil {
			return err
		}
		active, err := tx.SearchExperiments(ctx, ExperimentQuery{Tenant: "team-a", Limit: 10})
		if err != nil || len(active) != 1 || active[0].ID != 0 {
			t.Errorf("active experiments: %+v %v", active, err)
		}
		all, err := tx.SearchExperiments(ctx, ExperimentQuery{Tenant: "team-a", ViewType: "ALL", Limit: 10,
			Filters: []Filter{{Kind: FilterAttribute, Key: "name", Op: "LIKE", Value: "e%"}}})
		if err != nil || len(all) != 1 || all[0].Name != "exp" {
			t.Errorf("LIKE e%%: %+v %v", all, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParamsAreImmutableAndBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	r := mustRun(t, db, ctx, "team-a", 0)
	log := func(m []Metric, p, tg []KV) error {
		return db.Write(ctx, func(tx *Tx) error { return tx.LogBatch(ctx, "team-a", r.Info.ID, m, p, tg) })
	}
	if err := log(nil, []KV{{"lr", "0.1"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := log(nil, []KV{{"lr", "0.1"}}, nil); err != nil {
		t.Fatalf("same value again: %v", err)
	}
	err := log([]Metric{{Key: "acc", Value: 1, Timestamp: 1}}, []KV{{"lr", "0.2"}}, []KV{{"t", "x"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "changing param values") {
		t.Fatalf("changed param: %v", err)
	}
	if err := log(nil, nil, []KV{{strings.Repeat("k", 251), "v"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long key: %v", err)
	}
	if err := log(make([]Metric, 1001), nil, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("1001 metrics: %v", err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		got, err := tx.Run(ctx, "team-a", r.Info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Metrics) != 0 || len(got.Params) != 1 || len(got.Tags) != 1 { // the run-name tag only
			t.Errorf("half-written batch: %+v", got)
		}
		return nil
	})
}

func TestLatestMetricFollowsMaxStepThenTimestampAndKeepsNaN(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	r := mustRun(t, db, ctx, "team-a", 0)
	points := []Metric{
		{Key: "loss", Value: 3, Step: 2, Timestamp: 10},
		{Key: "loss", Value: 1, Step: 5, Timestamp: 5},
		{Key: "loss", Value: 2, Step: 5, Timestamp: 4},
		{Key: "nan", Value: math.NaN(), Step: 0, Timestamp: 1},
		{Key: "inf", Value: math.Inf(-1), Step: 0, Timestamp: 1},
	}
	err := db.Write(ctx, func(tx *Tx) error {
		if err := tx.LogBatch(ctx, "team-a", r.Info.ID, points[:2], nil, nil); err != nil {
			return err
		}
		return tx.LogBatch(ctx, "team-a", r.Info.ID, points[2:], nil, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		got, err := tx.Run(ctx, "team-a", r.Info.ID)
		if err != nil {
			t.Fatal(err)
		}
		latest := map[string]Metric{}
		for _, m := range got.Metrics {
			latest[m.Key] = m
		}
		if latest["loss"].Value != 1 || !math.IsNaN(latest["nan"].Value) || !math.IsInf(latest["inf"].Value, -1) {
			t.Errorf("latest: %+v", latest)
		}
		h, err := tx.MetricHistory(ctx, "team-a", r.Info.ID, "loss", 0, 100)
		if err != nil || len(h) != 3 || h[0].Step != 2 || h[1].Timestamp != 4 {
			t.Errorf("history: %+v %v", h, err)
		}
		if _, err := tx.MetricHistory(ctx, "team-b", r.Info.ID, "loss", 0, 100); !errors.Is(err, ErrNotFound) {
			t.Errorf("other tenant's run: %v", err)
		}
		return nil
	})
}

func TestSearchRunsFiltersOrdersAndPages(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	var ids []string
	for i := range 5 {
		r := mustRun(t, db, ctx, "team-a", 0, KV{"group", map[bool]string{true: "even", false: "odd"}[i%2 == 0]})
		ids = append(ids, r.Info.ID)
		err := db.Write(ctx, func(tx *Tx) error {
			return tx.LogBatch(ctx, "team-a", r.Info.ID, []Metric{{Key: "acc", Value: float64(i) / 10, Timestamp: 1}}, []KV{{"i", string(rune('0' + i))}}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, db, ctx, "team-b", 0)
	search := func(q RunQuery) []Run {
		t.Helper()
		q.Tenant, q.ExperimentIDs = "team-a", []int64{0}
		if q.Limit == 0 {
			q.Limit = 100
		}
		var out []Run
		if err := db.Read(ctx, func(tx *Tx) error {
			var err error
			out, err = tx.SearchRuns(ctx, q)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := search(RunQuery{Filters: []Filter{{FilterMetric, "acc", ">", 0.15}, {FilterTag, "group", "=", "even"}},
		Orders: []Order{{Kind: FilterMetric, Key: "acc", Desc: true}}})
	if len(got) != 2 || got[0].Info.ID != ids[4] || got[1].Info.ID != ids[2] {
		t.Fatalf("acc > 0.15 AND group = even: %d runs", len(got))
	}
	if got := search(RunQuery{Filters: []Filter{{FilterParam, "i", "=", "3"}}}); len(got) != 1 || got[0].Info.ID != ids[3] {
		t.Fatalf("params.i = 3: %+v", got)
	}
	if got := search(RunQuery{Filters: []Filter{{FilterAttribute, "status", "=", "RUNNING"}, {FilterAttribute, "run_id", "IN", []string{ids[0], ids[1]}}}}); len(got) != 2 {
		t.Fatalf("status and run_id IN: %d", len(got))
	}
	var paged []string
	for off := 0; ; off += 2 {
		page := search(RunQuery{Orders: []Order{{Kind: FilterMetric, Key: "acc"}}, Offset: off, Limit: 2})
		for _, r := range page {
			paged = append(paged, r.Info.ID)
		}
		if len(page) < 2 {
			break
		}
	}
	if strings.Join(paged, ",") != strings.Join(ids, ",") {
		t.Fatalf("pages by acc ASC = %v, want %v", paged, ids)
	}
	if _, err := (func() ([]Run, error) {
		var out []Run
		err := db.Read(ctx, func(tx *Tx) error {
			var err error
			out, err = tx.SearchRuns(ctx, RunQuery{Tenant: "team-a", ExperimentIDs: []int64{0}, Filters: []Filter{{FilterAttribute, "x; DROP", "=", "1"}}, Limit: 1})
			return err
		})
		return out, err
	})(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown attribute: %v", err)
	}
}

func TestRegistryVersionsAliasesAndRename(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	r := mustRun(t, db, ctx, "team-a", 0)
	other := mustRun(t, db, ctx, "team-b", 0)
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateRegisteredModel(ctx, RegisteredModel{Tenant: "team-a", Name: "m", Tags: []KV{{"k", "v"}}}); err != nil {
			return err
		}
		if _, err := tx.CreateRegisteredModel(ctx, RegisteredModel{Tenant: "team-a", Name: "m"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate model: %v", err)
		}
		for i := 1; i <= 2; i++ {
			v, err := tx.CreateModelVersion(ctx, ModelVersion{Tenant: "team-a", Name: "m", Source: "runs:/" + r.Info.ID + "/model", RunID: r.Info.ID})
			if err != nil {
				return err
			}
			if v.Version != int64(i) || v.Status != "READY" {
				t.Errorf("version %d: %+v", i, v)
			}
		}
		if _, err := tx.CreateModelVersion(ctx, ModelVersion{Tenant: "team-a", Name: "m", Source: "s", RunID: other.Info.ID}); !errors.Is(err, ErrInvalid) {
			t.Errorf("version from another tenant's run: %v", err)
		}
		if _, err := tx.CreateModelVersion(ctx, ModelVersion{Tenant: "team-a", Name: "nope", Source: "s"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("version of a missing model: %v", err)
		}
		if err := tx.SetModelAlias(ctx, "team-a", "m", "champion", 1); err != nil {
			return err
		}
		if err := tx.SetModelAlias(ctx, "team-a", "m", "champion", 3); !errors.Is(err, ErrNotFound) {
			t.Errorf("alias to a missing version: %v", err)
		}
		if err := tx.SetModelAlias(ctx, "team-b", "m", "champion", 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("alias on another tenant's model: %v", err)
		}
		if _, err := tx.RenameRegisteredModel(ctx, "team-a", "m", "m2"); err != nil {
			return err
		}
		v, err := tx.ModelVersionByAlias(ctx, "team-a", "m2", "champion")
		if err != nil || v.Version != 1 || v.Aliases[0] != "champion" {
			t.Errorf("by alias after rename: %+v %v", v, err)
		}
		m, err := tx.RegisteredModel(ctx, "team-a", "m2")
		if err != nil || len(m.LatestVersions) != 1 || m.LatestVersions[0].Version != 2 || len(m.Tags) != 1 || len(m.Aliases) != 1 {
			t.Errorf("model after rename: %+v %v", m, err)
		}
		vs, err := tx.SearchModelVersions(ctx, ModelQuery{Tenant: "team-a", Filters: []Filter{{FilterAttribute, "run_id", "=", r.Info.ID}}, Limit: 10})
		if err != nil || len(vs) != 2 || vs[0].Version != 2 {
			t.Errorf("versions by run: %+v %v", vs, err)
		}
		if err := tx.DeleteModelVersion(ctx, "team-a", "m2", 1); err != nil {
			return err
		}
		if _, err := tx.ModelVersionByAlias(ctx, "team-a", "m2", "champion"); !errors.Is(err, ErrNotFound) {
			t.Errorf("alias of a deleted version: %v", err)
		}
		return tx.DeleteRegisteredModel(ctx, "team-a", "m2")
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunArtifactTreeListsDirectChildren(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	r := mustRun(t, db, ctx, "team-a", 0)
	d := strings.Repeat("a", 64)
	err := db.Write(ctx, func(tx *Tx) error {
		for _, p := range []string{"model/MLmodel", "model/data/model.pkl", "metrics.json"} {
			if err := tx.PutRunArtifact(ctx, "team-a", r.Info.ID, p, d, 3); err != nil {
				return err
			}
		}
		root, err := tx.ListRunArtifacts(ctx, "team-a", r.Info.ID, "")
		if err != nil || len(root) != 2 || root[0].Path != "metrics.json" || !root[1].IsDir {
			t.Errorf("root: %+v %v", root, err)
		}
		sub, err := tx.ListRunArtifacts(ctx, "team-a", r.Info.ID, "model")
		if err != nil || len(sub) != 2 || sub[0].Path != "model/MLmodel" || sub[1].Path != "model/data" || !sub[1].IsDir {
			t.Errorf("model/: %+v %v", sub, err)
		}
		var n int
		_ = tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM artifact_blobs").Scan(&n)
		if n != 1 {
			t.Errorf("blobs recorded %d times", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
