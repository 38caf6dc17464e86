package pipelines

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/ferry-ml/ferry/store"
)

// chainSpec is n uncached steps, each after the one before.
func chainSpec(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: ferry.dev/v1\nkind: Pipeline\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - name: s%d\n    image: ferry.local/workload:1\n    command: [\"true\"]\n    cache: false\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "    dependsOn: [s%d]\n", i-1)
		}
	}
	return b.String()
}

// transitionsGoal is issue 15's goal for the engine: step transitions per
// second with 1,000 concurrent runs of 10 steps, on 2 cores.
const transitionsGoal = 1000

// BenchmarkEngineStepTransitions drives 1,000 concurrent runs of 10
// chained steps through the engine against client-go's fake API server
// and real SQLite, and reports step transitions per second (pending →
// running → succeeded: two per step), its ratio to the goal, and its ratio
// to a baseline measured in the same run: bare step-row writes, one
// transaction each (what the engine did per transition before it moved a
// pass's transitions in one transaction).
func BenchmarkEngineStepTransitions(b *testing.B) {
	const steps, runs = 10, 1000
	env, e := chainEngine(b, chainSpec(steps))
	var engineTime time.Duration
	transitions := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var rs []store.PipelineRun
		if err := env.db.Write(b.Context(), func(tx *store.Tx) error {
			p, err := tx.Pipeline(b.Context(), "ml", "chain")
			for j := 0; j < runs && err == nil; j++ {
				var r store.PipelineRun
				r, err = tx.CreatePipelineRun(b.Context(), p, 1, map[string]string{}, "", "alice")
				rs = append(rs, r)
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
		for pass := 0; pass < steps+2; pass++ {
			start := time.Now() // the engine's passes only, not the simulated kubelet
			if err := e.Sync(b.Context()); err != nil {
				b.Fatal(err)
			}
			engineTime += time.Since(start)
			env.kubelet(b.Context())
			env.cs.ClearActions() // the fake's record of every call, not the engine's memory
		}
		for _, r := range rs {
			if got, _ := env.run(r); got.State != store.PipelineRunSucceeded {
				b.Fatalf("run %s", got.State)
			}
		}
		transitions += runs * steps * 2
	}
	b.StopTimer()
	// Baseline: bare step rows written one transaction each.
	var r store.PipelineRun
	_ = env.db.Write(b.Context(), func(tx *store.Tx) error {
		p, _ := tx.Pipeline(b.Context(), "ml", "chain")
		var err error
		r, err = tx.CreatePipelineRun(b.Context(), p, 1, map[string]string{}, "", "alice")
		return err
	})
	const bare = 5000
	start := time.Now()
	for k := 0; k < bare; k++ {
		_ = env.db.Write(b.Context(), func(tx *store.Tx) error {
			return tx.PutPipelineStep(b.Context(), store.PipelineStep{RunID: r.ID, Name: fmt.Sprintf("s%d", k%steps), Step: "s", State: "running"})
		})
	}
	raw := time.Since(start)
	engineRate := float64(transitions) / engineTime.Seconds()
	rawRate := float64(bare) / raw.Seconds()
	b.ReportMetric(engineRate, "transitions/s")
	b.ReportMetric(engineRate/transitionsGoal, "x-goal")
	b.ReportMetric(rawRate, "bare-row-writes/s")
	b.ReportMetric(engineRate/rawRate, "engine/bare")
}

// chainEngine parses spec, stores it as tenant ml's pipeline "chain" and
// returns the fake cluster with an engine over it: the set-up of the
// engine benchmarks.
func chainEngine(b *testing.B, text string) (*engineEnv, *Engine) {
	b.Helper()
	spec, err := Parse("spec", []byte(text))
	if err != nil {
		b.Fatal(err)
	}
	// client-go's plain object tracker, not NewClientset's field-managed
	// one: the engine only creates and deletes (CreateOrApply applies just
	// what exists already, which no run here has), and the field manager
	// rebuilt a REST mapper on every call, 38 % of the CPU of a run, all
	// of it the fake's. A real API server's cost is in another process.
	env := newEngineEnvOn(b, fake.NewSimpleClientset())
	canon, digest, _ := Canonical(spec)
	if err := env.db.Write(b.Context(), func(tx *store.Tx) error {
		// A quota that holds 1,000 concurrent steps (the engine admits
		// each against it).
		t, err := tx.Tenant(b.Context(), "ml")
		if err != nil {
			return err
		}
		t.Quota = store.Quota{CPU: "1000", Memory: "1000Gi"}
		if _, err := tx.UpdateTenant(b.Context(), t); err != nil {
			return err
		}
		_, _, _, err = tx.PutPipelineVersion(b.Context(), "ml", "chain", "", string(canon), digest, "alice")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	e := env.engine()
	return env, e
}
