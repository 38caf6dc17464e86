package store

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkListPipelineRuns lists the newest page of one pipeline's failed
// runs among 1,000,000 runs of 10 pipelines (issue 15's goal: p99 ≤ 50 ms;
// SQL inserts, the tracking rows
// they reference included) and reports its p99, next to the same page
// without a filter as the baseline, measured in the same run.
func BenchmarkListPipelineRuns(b *testing.B) {
	const n, pipelines = 1_000_000, 10
	ctx := b.Context()
	db, err := Open(ctx, Config{Path: filepath.Join(b.TempDir(), "runs.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var pid int64
	err = db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "ml", DisplayName: "ml", Quota: Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
			return err
		}
		for p := 0; p < pipelines; p++ {
			pl, _, _, err := tx.PutPipelineVersion(ctx, "ml", fmt.Sprintf("p%d", p), "", "{}", strings.Repeat("a", 64), "alice")
			if err != nil {
				return err
			}
			if p == 3 {
				pid = pl.ID // its runs are the failed ones (i%10 == 3)
			}
		}
		now := formatTime(tx.now)
		states := []string{"succeeded", "succeeded", "succeeded", "failed", "cancelled"}
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("%032x", i+1)
			if _, err := tx.tx.ExecContext(ctx, `INSERT INTO runs (run_uuid, tenant, experiment_id, name, user_id, status, start_time, lifecycle_stage, artifact_uri)
				VALUES (?, 'ml', 0, 'r', 'alice', 'FINISHED', 0, 'active', 'x')`, id); err != nil {
				return err
			}
			if _, err := tx.tx.ExecContext(ctx, `INSERT INTO pipeline_runs (run_uuid, tenant, pipeline_id, version, state, created_by, created_at, updated_at)
				VALUES (?, 'ml', ?, 1, ?, 'alice', ?, ?)`, id, int64(i%pipelines)+1, states[i%len(states)], now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	measure := func(f PipelineRunFilter) (p99 time.Duration) {
		var ds []time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			err := db.Read(ctx, func(tx *Tx) error {
				rs, err := tx.ListPipelineRuns(ctx, "ml", f)
				if err == nil && len(rs) != f.Limit {
					err = fmt.Errorf("%d runs, want %d", len(rs), f.Limit)
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[len(ds)*99/100]
	}
	b.ResetTimer()
	filtered := measure(PipelineRunFilter{PipelineID: pid, State: "failed", Limit: 100})
	plain := measure(PipelineRunFilter{Limit: 100})
	b.ReportMetric(float64(filtered.Microseconds())/1000, "p99-ms(pipeline+state)")
	b.ReportMetric(float64(plain.Microseconds())/1000, "p99-ms(unfiltered)")
	b.ReportMetric(float64(filtered)/float64(plain), "filtered/unfiltered")
}
