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
		rng := rand.New(rand.NewPCG(3, 4))
		const batch = 50_000
		for done := 0; done < trackRuns && trackErr == nil; done += batch {
			trackErr = trackDB.Write(ctx, func(tx *Tx) error {
				for i := done; i < done+batch; i++ {
					id := trackRunID(i)
					if _, err := tx.tx.ExecContext(ctx, `INSERT INTO runs (run_uuid, tenant, experiment_id, name, user_id, status, start_time, lifecycle_stage, artifact_uri)
						VALUES (?, 't', 0, ?, 'u', 'FINISHED', ?, 'active', 'x')`, id, "run-"+id[24:], int64(i)); err != nil {
						return err
					}
					if _, err := tx.tx.ExecContext(ctx, `INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step) VALUES (?, 'acc', ?, 0, 0)`, id, rng.Float64()); err != nil {
						return err
					}
					if _, err := tx.tx.ExecContext(ctx, `INSERT INTO run_params (run_uuid, key, value) VALUES (?, 'lr', ?)`, id, fmt.Sprint(i%10)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		for s := 0; s < trackSeries && trackErr == nil; s += 5 {
			trackErr = trackDB.Write(ctx, func(tx *Tx) error {
				for r := s; r < s+5; r++ {
					id := trackRunID(r)
					for step := 0; step < trackSeriesLen; step++ {
						if _, err := tx.tx.ExecContext(ctx, `INSERT INTO metrics (run_uuid, key, value, timestamp, step) VALUES (?, 'loss', ?, ?, ?)`,
							id, rng.Float64(), int64(step), int64(step)); err != nil {
							return err
						}
					}
				}
				return nil
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

// BenchmarkMetricHistoryAt10MPoints reads one whole 10,000-point series
// (get-history) from a table of 10,000,000 points.
func BenchmarkMetricHistoryAt10MPoints(b *testing.B) {
	db := seedTracking(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := trackRunID(rng.IntN(trackSeries))
		start := time.Now()
		var n int
		err := db.Read(ctx, func(tx *Tx) error {
			ms, err := tx.MetricHistory(ctx, "t", id, "loss", 0, trackSeriesLen)
			n = len(ms)
			return err
		})
		lat = append(lat, time.Since(start))
		if err != nil || n != trackSeriesLen {
			b.Fatalf("history of %s: %d points, %v", id, n, err)
		}
	}
	b.StopTimer()
	reportP99(b, lat, historyGoal)
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
