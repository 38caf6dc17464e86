package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// The tracking store at scale: 1,000,000 runs of one experiment, each with
// a latest "acc" and a param "lr"; 10,000,000 metric points, as 1,000
// series of 10,000 steps.
const (
	trackRuns      = 1_000_000
	trackSeries    = 1_000
	trackSeriesLen = 10_000
	historyGoal    = 20 * time.Millisecond
	searchGoal     = 100 * time.Millisecond
)

var (
	trackOnce sync.Once
	trackDB   *DB
	trackDir  string
	trackErr  error
)

func trackRunID(i int) string { return fmt.Sprintf("%032x", i+1) }

// seedTracking writes the rows with plain INSERTs in large transactions (a
// bulk load, not the API path: that is BenchmarkLogBatch's business).
func seedTracking(tb testing.TB) *DB {
	trackOnce.Do(func() {
		ctx := context.Background()
		start := time.Now()
		if trackDir, trackErr = os.MkdirTemp("", "ferry-track-bench-"); trackErr != nil {
			return
		}
		if trackDB, trackErr = Open(ctx, Config{Path: filepath.Join(trackDir, "track.db")}); trackErr != nil {
			return
		}
		trackErr = trackDB.Write(ctx, func(tx *Tx) error {
			if _, err := tx.CreateTenant(ctx, Tenant{Name: "t", DisplayName: "t", Quota: Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
				return err
			}
			return tx.EnsureDefaultExperiment(ctx, "t")
		})
		// SQLite makes the rows itself (a recursive CTE of numbers), in the
		// order of the indexes: the seed is SQLite's work, not 20 million
		// round trips through database/sql. Run ids are trackRunID's
		// (%032x of i+1); acc is uniform in [0, 1), lr is i mod 10.
		const batch = 50_000
		for done := 0; done < trackRuns && trackErr == nil; done += batch {
			trackErr = trackDB.Write(ctx, func(tx *Tx) error {
				nums := fmt.Sprintf("WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) ", done, done+batch-1)
				for _, q := range []string{
					`INSERT INTO runs (run_uuid, tenant, experiment_id, name, user_id, status, start_time, lifecycle_stage, artifact_uri)
						SELECT printf('%032x', i + 1), 't', 0, 'run-' || substr(printf('%032x', i + 1), 25), 'u', 'FINISHED', i, 'active', 'x' FROM n`,
					`INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step) SELECT printf('%032x', i + 1), 'acc', abs(random() % 1000000007) / 1000000007.0, 0, 0 FROM n`,
					`INSERT INTO run_params (run_uuid, key, value) SELECT printf('%032x', i + 1), 'lr', CAST(i % 10 AS TEXT) FROM n`,
				} {
					if _, err := tx.tx.ExecContext(ctx, nums+q); err != nil {
						return err
					}
				}
				return nil
			})
		}
		// 1,000 series of 10,000 steps ('loss'), 20 series a transaction.
		for s := 0; s < trackSeries && trackErr == nil; s += 20 {
			trackErr = trackDB.Write(ctx, func(tx *Tx) error {
				_, err := tx.tx.ExecContext(ctx, fmt.Sprintf(`WITH RECURSIVE r(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM r WHERE i < %d),
					s(step) AS (SELECT 0 UNION ALL SELECT step + 1 FROM s WHERE step < %d)
					INSERT INTO metrics (run_uuid, key, value, timestamp, step)
					SELECT printf('%%032x', i + 1), 'loss', abs(random() %% 1000000007) / 1000000007.0, step, step FROM r CROSS JOIN s`, s, s+19, trackSeriesLen-1))
				return err
			})
		}
		fmt.Fprintf(os.Stderr, "seeded %d runs and %d metric points in %s\n", trackRuns, trackSeries*trackSeriesLen, time.Since(start).Round(time.Second))
	})
	if trackErr != nil {
		tb.Fatal(trackErr)
	}
	return trackDB
}

// p99 reports the latencies' p50 and p99 and p99's ratio to the goal (above 1 misses it).
func reportP99(b *testing.B, lat []time.Duration, goal time.Duration) {
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99)/float64(goal), "p99/goal")
}

// metricHistoryPlain is get-history as it was first written, the baseline
// of BenchmarkMetricHistoryAt10MPoints: every column of the index row
// (the key included) scanned through database/sql's conversions.
func metricHistoryPlain(ctx context.Context, tx *Tx, runID, key string, offset, limit int) ([]Metric, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT key, value, is_nan, timestamp, step FROM metrics INDEXED BY metrics_history WHERE run_uuid = ? AND key = ?
		ORDER BY step, timestamp, value, is_nan LIMIT ? OFFSET ?`, runID, key, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Metric{}
	for rows.Next() {
		m, err := scanMetric(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// BenchmarkMetricHistoryAt10MPoints reads one whole 10,000-point series
// (get-history) from a table of 10,000,000 points, alternating with the
// plain read (metricHistoryPlain) of the same series in the same run: it
// reports both p99s, p99's ratio to the goal, and the ratio to the plain read.
func BenchmarkMetricHistoryAt10MPoints(b *testing.B) {
	db := seedTracking(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	lat := make([]time.Duration, 0, b.N)
	base := make([]time.Duration, 0, b.N)
	read := func(id string, plain bool) time.Duration {
		start := time.Now()
		var n int
		err := db.Read(ctx, func(tx *Tx) error {
			var ms []Metric
			var err error
			if plain {
				if _, err = tx.runInfo(ctx, "t", id); err == nil {
					ms, err = metricHistoryPlain(ctx, tx, id, "loss", 0, trackSeriesLen)
				}
			} else {
				ms, err = tx.MetricHistory(ctx, "t", id, "loss", 0, trackSeriesLen)
			}
			n = len(ms)
			return err
		})
		d := time.Since(start)
		if err != nil || n != trackSeriesLen {
			b.Fatalf("history of %s (plain %v): %d points, %v", id, plain, n, err)
		}
		return d
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := trackRunID(rng.IntN(trackSeries))
		// Alternate which goes first, so that neither always finds the
		// series' pages warm from the other.
		if i%2 == 0 {
			lat = append(lat, read(id, false))
			base = append(base, read(id, true))
		} else {
			base = append(base, read(id, true))
			lat = append(lat, read(id, false))
		}
	}
	b.StopTimer()
	slices.Sort(base)
	baseP99 := base[len(base)*99/100]
	b.ReportMetric(float64(baseP99.Microseconds())/1000, "plain-p99-ms")
	reportP99(b, lat, historyGoal)
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100])/float64(baseP99), "p99/plain")
}

// BenchmarkSearchRunsAt1MRuns runs MLflow's runs/search with a metric filter
// and a metric order-by (the first page of 100) over 1,000,000 runs.
func BenchmarkSearchRunsAt1MRuns(b *testing.B) {
	db := seedTracking(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := RunQuery{Tenant: "t", ExperimentIDs: []int64{0}, Limit: 100,
			Filters: []Filter{{Kind: FilterMetric, Key: "acc", Op: ">", Value: rng.Float64() * 0.9}},
			Orders:  []Order{{Kind: FilterMetric, Key: "acc", Desc: true}}}
		if i%2 == 1 {
			q.Filters = append(q.Filters, Filter{Kind: FilterParam, Key: "lr", Op: "=", Value: fmt.Sprint(rng.IntN(10))})
		}
		start := time.Now()
		var n int
		err := db.Read(ctx, func(tx *Tx) error {
			rs, err := tx.SearchRuns(ctx, q)
			n = len(rs)
			return err
		})
		lat = append(lat, time.Since(start))
		if err != nil || n == 0 {
			b.Fatalf("search %+v: %d runs, %v", q, n, err)
		}
	}
	b.StopTimer()
	reportP99(b, lat, searchGoal)
}
