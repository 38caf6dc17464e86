package store

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

func countRows(t *testing.T, db *DB, ctx context.Context, q string) int {
	t.Helper()
	var n int
	if err := db.Read(ctx, func(tx *Tx) error { return tx.tx.QueryRowContext(ctx, q).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

func logBatch(db *DB, ctx context.Context, tenant, run string, ms ...Metric) error {
	return db.Write(ctx, func(tx *Tx) error { return tx.LogBatch(ctx, tenant, run, ms, nil, nil) })
}

func TestMetricsWithAModelIDAreKeptInTheRunAndLinkedToTheModel(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	run := mustRun(t, db, ctx, "team-a", 0)
	m := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", SourceRunID: run.Info.ID})
	err := logBatch(db, ctx, "team-a", run.Info.ID,
		Metric{Key: "acc", Value: 0.7, Timestamp: 10, Step: 0, ModelID: m.ID, DatasetName: "test", DatasetDigest: "d1"},
		Metric{Key: "acc", Value: 0.9, Timestamp: 20, Step: 1, ModelID: m.ID, DatasetName: "test", DatasetDigest: "d1"},
		Metric{Key: "acc", Value: 0.6, Timestamp: 15, Step: 0, ModelID: m.ID, DatasetName: "train"},
		Metric{Key: "loss", Value: math.NaN(), Timestamp: 20, Step: 1, ModelID: m.ID},
		// The same point again is one point; of two values at one step and time the larger stays.
		Metric{Key: "acc", Value: 0.9, Timestamp: 20, Step: 1, ModelID: m.ID, DatasetName: "test", DatasetDigest: "d1"},
		Metric{Key: "acc", Value: 0.5, Timestamp: 15, Step: 0, ModelID: m.ID, DatasetName: "train"},
		// Without a model the dataset is not kept, as MLflow does.
		Metric{Key: "plain", Value: 1, Timestamp: 5, DatasetName: "ignored"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, ctx, "SELECT count(*) FROM metrics WHERE run_uuid = '"+run.Info.ID+"'"); n != 7 {
		t.Errorf("the run has %d points, want all 7", n)
	}
	if n := countRows(t, db, ctx, "SELECT count(*) FROM logged_model_metrics"); n != 4 {
		t.Errorf("the model has %d points, want 4 (duplicates folded, the plain point not linked)", n)
	}
	var got LoggedModel
	if err := db.Read(ctx, func(tx *Tx) (err error) { got, err = tx.LoggedModel(ctx, "team-a", m.ID); return err }); err != nil {
		t.Fatal(err)
	}
	// The latest of each (key, dataset, run), by key then dataset.
	if len(got.Metrics) != 3 {
		t.Fatalf("model metrics %+v, want acc on test, acc on train, loss", got.Metrics)
	}
	acc, train, loss := got.Metrics[0], got.Metrics[1], got.Metrics[2]
	if acc.Key != "acc" || acc.Value != 0.9 || acc.Step != 1 || acc.DatasetName != "test" || acc.DatasetDigest != "d1" || acc.RunID != run.Info.ID || acc.ModelID != m.ID {
		t.Errorf("acc on test: %+v", acc)
	}
	if train.DatasetName != "train" || train.Value != 0.6 {
		t.Errorf("acc on train: %+v (the larger of two values at one step and time)", train)
	}
	if loss.Key != "loss" || !math.IsNaN(loss.Value) {
		t.Errorf("loss: %+v, want NaN", loss)
	}
}

func TestLinkedMetricsAreBoundedAndABadOneWritesNothing(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	run := mustRun(t, db, ctx, "team-a", 0)
	m := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", SourceRunID: run.Info.ID})
	theirs := mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-b"})
	ok := Metric{Key: "acc", Value: 1, Timestamp: 1, ModelID: m.ID}
	for _, c := range []struct {
		name  string
		bad   Metric
		want  error
		field string
	}{
		{"a model id of another shape", Metric{Key: "acc", Timestamp: 1, ModelID: "model-1"}, ErrInvalid, "metrics[1].model_id"},
		{"an over-long dataset name", Metric{Key: "acc", Timestamp: 1, ModelID: m.ID, DatasetName: strings.Repeat("d", MaxDatasetName+1)}, ErrInvalid, "metrics[1].dataset_name"},
		{"an over-long dataset digest", Metric{Key: "acc", Timestamp: 1, DatasetDigest: strings.Repeat("0", MaxDatasetDigest+1)}, ErrInvalid, "metrics[1].dataset_digest"},
		{"a model that does not exist", Metric{Key: "acc", Timestamp: 1, ModelID: "m-" + strings.Repeat("0", 32)}, ErrNotFound, "metrics[1].model_id"},
		{"another tenant's model", Metric{Key: "acc", Timestamp: 1, ModelID: theirs.ID}, ErrNotFound, "metrics[1].model_id"},
	} {
		err := logBatch(db, ctx, "team-a", run.Info.ID, ok, c.bad)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want %v naming %s", c.name, err, c.want, c.field)
		}
	}
	if n := countRows(t, db, ctx, "SELECT count(*) FROM metrics") + countRows(t, db, ctx, "SELECT count(*) FROM logged_model_metrics"); n != 0 {
		t.Errorf("refused batches wrote %d points", n)
	}
	// A deleted model takes no more metrics.
	if err := db.Write(ctx, func(tx *Tx) error { return tx.DeleteLoggedModel(ctx, "team-a", m.ID) }); err != nil {
		t.Fatal(err)
	}
	if err := logBatch(db, ctx, "team-a", run.Info.ID, ok); !errors.Is(err, ErrNotFound) {
		t.Errorf("a metric of a deleted model: %v, want ErrNotFound", err)
	}
}

func TestSearchLoggedModelsFiltersAndOrdersOnTheirMetrics(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	run := mustRun(t, db, ctx, "team-a", 0)
	var ids []string
	for _, n := range []string{"low", "high", "nan", "none"} {
		ids = append(ids, mustLoggedModel(t, db, ctx, LoggedModel{Tenant: "team-a", Name: n, SourceRunID: run.Info.ID}).ID)
	}
	low, high, nan := ids[0], ids[1], ids[2]
	err := logBatch(db, ctx, "team-a", run.Info.ID,
		// low was 0.95 once; its latest on "eval" is 0.3.
		Metric{Key: "acc", Value: 0.95, Timestamp: 1, ModelID: low, DatasetName: "eval"},
		Metric{Key: "acc", Value: 0.3, Timestamp: 2, ModelID: low, DatasetName: "eval"},
		Metric{Key: "acc", Value: 0.8, Timestamp: 2, ModelID: high, DatasetName: "eval", DatasetDigest: "v2"},
		Metric{Key: "acc", Value: 0.99, Timestamp: 1, ModelID: high, DatasetName: "train"},
		Metric{Key: "acc", Value: math.NaN(), Timestamp: 1, ModelID: nan, DatasetName: "eval"},
	)
	if err != nil {
		t.Fatal(err)
	}
	search := func(q LoggedModelQuery) []string {
		t.Helper()
		q.Tenant, q.ExperimentIDs, q.Limit = "team-a", []int64{0}, 10
		var ms []LoggedModel
		if err := db.Read(ctx, func(tx *Tx) (err error) { ms, err = tx.SearchLoggedModels(ctx, q); return err }); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
		}
		return names
	}
	gt := func(v float64) []Filter { return []Filter{{Kind: FilterMetric, Key: "acc", Op: ">", Value: v}} }
	for _, c := range []struct {
		name string
		q    LoggedModelQuery
		want string
	}{
		{"latest values compare, NaN never", LoggedModelQuery{Filters: gt(0.5)}, "high"},
		{"narrowed to a dataset", LoggedModelQuery{Filters: gt(0.5), Datasets: []DatasetRef{{Name: "eval"}}}, "high"},
		{"narrowed to a dataset and digest", LoggedModelQuery{Filters: gt(0.5), Datasets: []DatasetRef{{Name: "eval", Digest: "v1"}}}, ""},
		{"any of the datasets", LoggedModelQuery{Filters: gt(0.9), Datasets: []DatasetRef{{Name: "eval"}, {Name: "train"}}}, "high"},
		{"datasets alone keep the models with a metric on them", LoggedModelQuery{Datasets: []DatasetRef{{Name: "eval"}}, Orders: []Order{{Kind: FilterAttribute, Key: "name"}}}, "high,low,nan"},
		{"ordered by the latest value, NaN then missing last", LoggedModelQuery{Orders: []Order{{Kind: FilterMetric, Key: "acc", Desc: true}}}, "high,low,nan,none"},
		{"ordered ascending", LoggedModelQuery{Orders: []Order{{Kind: FilterMetric, Key: "acc"}}}, "low,high,nan,none"},
		{"ordered by the value on one dataset", LoggedModelQuery{Orders: []Order{{Kind: FilterMetric, Key: "acc", Desc: true, Dataset: DatasetRef{Name: "train"}}, {Kind: FilterAttribute, Key: "name"}}}, "high,low,nan,none"},
	} {
		if got := strings.Join(search(c.q), ","); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	err = db.Read(ctx, func(tx *Tx) error {
		_, err := tx.SearchLoggedModels(ctx, LoggedModelQuery{Tenant: "team-a", ExperimentIDs: []int64{0}, Limit: 1, Datasets: []DatasetRef{{Name: strings.Repeat("d", MaxDatasetName+1)}}})
		return err
	})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "datasets[0].dataset_name") {
		t.Errorf("an over-long dataset name in a search: %v", err)
	}
}

// The optimized get-history read returns what the plain query does.
func TestMetricHistoryReadsThePointsOfTheCoveringIndexInOrder(t *testing.T) {
	t.Parallel()
	db, ctx := trackingDB(t)
	run := mustRun(t, db, ctx, "team-a", 0)
	var ms []Metric
	for i := range 50 {
		ms = append(ms, Metric{Key: "loss", Value: float64(49-i) / 3, Timestamp: int64(i % 7), Step: int64(i % 10)})
	}
	ms = append(ms, Metric{Key: "loss", Value: math.NaN(), Timestamp: 0, Step: 0}, Metric{Key: "loss", Value: math.Inf(-1), Timestamp: 0, Step: 0},
		Metric{Key: "other", Value: 1, Timestamp: 0, Step: 0})
	if err := logBatch(db, ctx, "team-a", run.Info.ID, ms...); err != nil {
		t.Fatal(err)
	}
	var got, want []Metric
	var plan []string
	err := db.Read(ctx, func(tx *Tx) (err error) {
		rows, err := tx.tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+historySQL, run.Info.ID, "loss", 40, 3)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				rows.Close()
				return err
			}
			plan = append(plan, detail)
		}
		if err := errJoinClose(rows); err != nil {
			return err
		}
		if got, err = tx.MetricHistory(ctx, "team-a", run.Info.ID, "loss", 3, 40); err != nil {
			return err
		}
		want, err = metricHistoryPlain(ctx, tx, run.Info.ID, "loss", 3, 40)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// One pass over the covering index: no table lookups, no sort.
	if p := strings.Join(plan, "; "); !strings.Contains(p, "COVERING INDEX metrics_history") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("get-history's plan is %q, want one walk of the covering index metrics_history", p)
	}
	if len(got) != 40 || len(got) != len(want) {
		t.Fatalf("%d points, plain query %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Key != w.Key || g.Step != w.Step || g.Timestamp != w.Timestamp || (g.Value != w.Value && !(math.IsNaN(g.Value) && math.IsNaN(w.Value))) {
			t.Fatalf("point %d: %+v, plain query %+v", i, g, w)
		}
	}
}
