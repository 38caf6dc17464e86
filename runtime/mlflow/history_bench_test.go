package mlflow

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/store"
)

// BenchmarkMetricHistoryHTTP reads a 10,000-point series through
// metrics/get-history over HTTP, and alternates with the reply built as it
// was first (the points read into a slice, then encoded by encoding/json)
// and as it is now (written as they are read), without HTTP; it reports
// the HTTP p99 and the ratio of the two builds' p99s.
func BenchmarkMetricHistoryHTTP(b *testing.B) {
	const points = 10_000
	e := newEnv(b)
	ctx := context.Background()
	var runID string
	err := e.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.EnsureDefaultExperiment(ctx, "team-a"); err != nil {
			return err
		}
		r, err := tx.CreateRun(ctx, store.NewRun{Tenant: "team-a", ExperimentID: 0, UserID: "alice"})
		if err != nil {
			return err
		}
		runID = r.Info.ID
		for s := 0; s < points; s += store.MaxBatchMetrics {
			ms := make([]store.Metric, store.MaxBatchMetrics)
			for i := range ms {
				ms[i] = store.Metric{Key: "loss", Value: float64(s+i) / 7, Timestamp: 1_700_000_000_000 + int64(s+i), Step: int64(s + i)}
			}
			if err := tx.LogBatch(ctx, "team-a", runID, ms, nil, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	url := e.srv.URL + "/mlflow/team-a" + api + "/metrics/get-history?metric_key=loss&run_id=" + runID
	plain := func() {
		err := e.db.Read(ctx, func(tx *store.Tx) error {
			ms, err := tx.MetricHistory(ctx, "team-a", runID, "loss", 0, points+1)
			if err != nil {
				return err
			}
			out := struct {
				Metrics []metricJSON `json:"metrics"`
			}{Metrics: make([]metricJSON, 0, len(ms))}
			for _, m := range ms {
				out.Metrics = append(out.Metrics, toMetric(m))
			}
			return json.NewEncoder(io.Discard).Encode(out)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	streamed := func() {
		hw := historyPool.Get().(*historyWriter)
		defer historyPool.Put(hw)
		hw.start("loss")
		err := e.db.Read(ctx, func(tx *store.Tx) error {
			hw.reset()
			return tx.EachMetricPoint(ctx, "team-a", runID, "loss", 0, points+1, hw.point)
		})
		if err != nil || hw.points != points {
			b.Fatalf("%d points, %v", hw.points, err)
		}
		_, _ = io.Discard.Write(hw.finish(""))
	}
	timed := func(f func()) time.Duration { start := time.Now(); f(); return time.Since(start) }
	var httpLat, plainLat, streamLat []time.Duration
	b.ResetTimer()
	for range b.N {
		httpLat = append(httpLat, timed(func() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n < points*50 {
				b.Fatalf("get-history: %d, %d bytes", resp.StatusCode, n)
			}
		}))
		plainLat = append(plainLat, timed(plain))
		streamLat = append(streamLat, timed(streamed))
	}
	b.StopTimer()
	p99 := func(l []time.Duration) time.Duration { slices.Sort(l); return l[len(l)*99/100] }
	h, p, s := p99(httpLat), p99(plainLat), p99(streamLat)
	b.ReportMetric(float64(h.Microseconds())/1000, "http-p99-ms")
	b.ReportMetric(float64(p.Microseconds())/1000, "slice+json-p99-ms")
	b.ReportMetric(float64(s.Microseconds())/1000, "streamed-p99-ms")
	b.ReportMetric(float64(s)/float64(p), "streamed/slice+json")
	b.ReportMetric(float64(h)/float64(20*time.Millisecond), "http-p99/20ms")
	b.ReportMetric(0, "ns/op")
}
