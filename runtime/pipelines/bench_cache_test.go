package pipelines

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/store"
)

// cachedRunGoal is issue 15's goal for a fully cached 10-step run, submit
// to succeeded.
const cachedRunGoal = time.Second

// BenchmarkCachedRun measures a 10-step run whose every step is answered
// from the cache, submit to succeeded (engine passes with no pod made),
// and reports it next to its goal and to a baseline measured in the same
// run: the first, uncached run of the same pipeline, against a fake
// cluster that completes each pod at once.
func BenchmarkCachedRun(b *testing.B) {
	const steps = 10
	env, e := chainEngine(b, strings.ReplaceAll(chainSpec(steps), "cache: false", "cache: true"))
	submit := func() store.PipelineRun {
		var r store.PipelineRun
		if err := env.db.Write(b.Context(), func(tx *store.Tx) error {
			p, err := tx.Pipeline(b.Context(), "ml", "chain")
			if err != nil {
				return err
			}
			r, err = tx.CreatePipelineRun(b.Context(), p, 1, map[string]string{}, "", "alice")
			return err
		}); err != nil {
			b.Fatal(err)
		}
		return r
	}
	// drive syncs (and, when kubelet is set, completes pods) until r ends.
	drive := func(r store.PipelineRun, kubelet bool) {
		for pass := 0; pass < 3*steps; pass++ {
			if err := e.Sync(b.Context()); err != nil {
				b.Fatal(err)
			}
			if got, _ := env.run(r); got.State == store.PipelineRunSucceeded {
				return
			} else if got.State != store.PipelineRunPending && got.State != store.PipelineRunRunning {
				b.Fatalf("run %s: %s", got.State, got.Reason)
			}
			if kubelet {
				env.kubelet(b.Context())
			}
		}
		b.Fatalf("run %s did not succeed", r.RunID)
	}
	start := time.Now()
	drive(submit(), true)
	uncached := time.Since(start)
	created := env.created
	var cached time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r := submit()
		drive(r, false)
		cached += time.Since(start)
		if _, rows := env.run(r); len(rows) != steps {
			b.Fatalf("%d step rows, want %d", len(rows), steps)
		} else {
			for _, row := range rows {
				if row.CachedFrom == "" {
					b.Fatalf("step %s %s, not cached", row.Name, row.State)
				}
			}
		}
	}
	b.StopTimer()
	if env.created != created {
		b.Fatalf("cached runs made %d pods", env.created-created)
	}
	per := cached.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/cached-run")
	b.ReportMetric(per/cachedRunGoal.Seconds(), "x-goal")
	b.ReportMetric(uncached.Seconds(), "s/uncached-run")
	b.ReportMetric(per/uncached.Seconds(), "cached/uncached")
}
