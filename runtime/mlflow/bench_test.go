package mlflow

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/store"
)

// BenchmarkLogBatch logs b.N batches of 1,000 metric points through
// /runs/log-batch over HTTP, then the same batches straight into the store,
// then as raw SQLite inserts, and reports the points per second of each and
// the ratio HTTP / store.
func BenchmarkLogBatch(b *testing.B) {
	const batch = 1000
	e := newEnv(b)
	ctx := context.Background()
	var runID string
	if err := e.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.EnsureDefaultExperiment(ctx, "team-a"); err != nil {
			return err
		}
		r, err := tx.CreateRun(ctx, store.NewRun{Tenant: "team-a", ExperimentID: 0, UserID: "alice"})
		runID = r.Info.ID
		return err
	}); err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, b.N)
	batches := make([][]store.Metric, b.N)
	for n := range b.N {
		ms := make([]map[string]any, batch)
		batches[n] = make([]store.Metric, batch)
		for i := range batch {
			step := int64(n*batch + i)
			ms[i] = map[string]any{"key": "loss", "value": float64(i) / 7, "timestamp": 1_700_000_000_000 + step, "step": step}
			batches[n][i] = store.Metric{Key: "acc", Value: float64(i) / 7, Timestamp: 1_700_000_000_000 + step, Step: step}
		}
		bodies[n], _ = json.Marshal(map[string]any{"run_id": runID, "metrics": ms})
	}
	url := e.srv.URL + "/mlflow/team-a" + api + "/runs/log-batch"
	b.ResetTimer()
	start := time.Now()
	for n := range b.N {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[n]))
		req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("log-batch: %d", resp.StatusCode)
		}
	}
	httpD := time.Since(start)
	b.StopTimer()
	start = time.Now()
	for n := range b.N {
		if err := e.db.Write(ctx, func(tx *store.Tx) error { return tx.LogBatch(ctx, "team-a", runID, batches[n], nil, nil) }); err != nil {
			b.Fatal(err)
		}
	}
	storeD := time.Since(start)
	conn, err := sql.Open("sqlite", "file:"+e.db.Path()+"?_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	start = time.Now()
	for n := range b.N {
		tx, err := conn.Begin()
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.Prepare("INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES (?, 'raw', ?, 0, ?, ?)")
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range batches[n] {
			if _, err := st.Exec(runID, m.Value, m.Timestamp, m.Step); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	rawD := time.Since(start)
	pts := float64(b.N * batch)
	b.ReportMetric(pts/httpD.Seconds(), "http-points/s")
	b.ReportMetric(pts/storeD.Seconds(), "store-points/s")
	b.ReportMetric(pts/rawD.Seconds(), "sqlite-points/s")
	b.ReportMetric(storeD.Seconds()/httpD.Seconds(), "http/store")
	b.ReportMetric(0, "ns/op")
}
