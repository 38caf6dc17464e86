package pipelines

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

func TestRunFansOutPassesOutputsAndIsFullyCachedTheSecondTime(t *testing.T) {
	env := newEngineEnv(t)
	e := env.engine()
	ctx := t.Context()
	r := env.submit(nil)

	// First pass: only prep may start.
	if err := e.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, steps := env.run(r); len(steps) != 1 || steps["prep"].State != store.PipelineRunRunning {
		t.Fatalf("after one pass: %+v", steps)
	}
	env.kubelet(ctx)
	if err := e.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// train fans out over 3 items, 2 at a time.
	_, steps := env.run(r)
	running := 0
	for _, s := range steps {
		if s.Step == "train" && s.State == store.PipelineRunRunning {
			running++
		}
	}
	if steps["prep"].State != store.PipelineRunSucceeded || running != 2 || steps["train[2]"].State != store.PipelineRunPending {
		t.Fatalf("parallelism 2 not kept: %+v", steps)
	}
	got := env.drive(e, r, 10)
	if got.State != store.PipelineRunSucceeded {
		t.Fatalf("run %s: %s", got.State, got.Reason)
	}
	if env.created != 5 {
		t.Fatalf("%d pods created, want 5 (prep, 3 train, pick)", env.created)
	}
	pick, err := env.cs.CoreV1().Pods(tenants.Namespace("ml")).List(ctx, metav1.ListOptions{LabelSelector: StepLabel + "=pick"})
	if err != nil {
		t.Fatal(err)
	}
	// Ended pods are deleted once their logs are saved; the log stays readable.
	if len(pick.Items) != 0 {
		t.Fatalf("pick's pod was kept after its step ended")
	}
	var log strings.Builder
	if err := e.WriteStepLogs(ctx, got, "pick", false, &log); err != nil || log.Len() == 0 {
		t.Fatalf("pick's log after its pod is gone: %q %v", log.String(), err)
	}
	_, steps = env.run(r)
	if steps["train[1]"].Outputs["score"] != "0.2" || steps["prep"].Outputs["data"] == "" {
		t.Fatalf("outputs: %+v", steps)
	}

	// The same parameters again: every step cached, no pod.
	before := env.created
	r2 := env.submit(nil)
	got2 := env.drive(e, r2, 3)
	if got2.State != store.PipelineRunSucceeded || env.created != before {
		t.Fatalf("second run %s, %d new pods", got2.State, env.created-before)
	}
	_, steps2 := env.run(r2)
	for name, s := range steps2 {
		if s.State != "cached" || s.CachedFrom != r.RunID {
			t.Errorf("step %s of the second run: %s from %q", name, s.State, s.CachedFrom)
		}
	}

	// Changing one item of the fan-out re-runs only that item and what is downstream of it.
	before = env.created
	r3 := env.submit(map[string]string{"lrs": "[0.1,0.2,0.4]", "rows": "100"})
	if got3 := env.drive(e, r3, 10); got3.State != store.PipelineRunSucceeded {
		t.Fatalf("third run %s", got3.State)
	}
	_, steps3 := env.run(r3)
	if steps3["prep"].State != "cached" || steps3["train[0]"].State != "cached" || steps3["train[2]"].State != store.PipelineRunSucceeded ||
		steps3["pick"].State != store.PipelineRunSucceeded || env.created-before != 2 {
		t.Fatalf("third run re-ran %d pods: %+v", env.created-before, steps3)
	}
}

func TestFailingStepIsRetriedWithBackoffThenFailsTheRun(t *testing.T) {
	env := newEngineEnv(t)
	env.fail["pick"] = true
	e := env.engine()
	ctx := t.Context()
	r := env.submit(nil)
	for i := 0; i < 8; i++ {
		if err := e.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		env.kubelet(ctx)
		env.advance(time.Second)
	}
	_, steps := env.run(r)
	pick := steps["pick"]
	if pick.State != store.PipelineRunPending || pick.Attempt != 1 || pick.RetryAt == nil || !strings.Contains(pick.Reason, "retrying in 10s") {
		t.Fatalf("pick after its first failure: %+v", pick)
	}
	// Before the backoff ends nothing starts; after it, attempt 2.
	before := env.created
	if err := e.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if env.created != before {
		t.Fatal("a retry started before its backoff ended")
	}
	got := env.drive(e, r, 20)
	_, steps = env.run(r)
	if got.State != store.PipelineRunFailed || steps["pick"].Attempt != 2 || !strings.Contains(got.Reason, "exit code 3") {
		t.Fatalf("run %s (%s), pick %+v", got.State, got.Reason, steps["pick"])
	}
	var log strings.Builder
	if err := e.WriteStepLogs(ctx, got, "pick", false, &log); err != nil || log.Len() == 0 {
		t.Fatalf("failed step's log: %q %v", log.String(), err)
	}
	// Retry from the failed step: prep and train are kept.
	env.fail["pick"] = false
	before = env.created
	if err := env.db.Write(ctx, func(tx *store.Tx) error { _, err := tx.RetryPipelineRun(ctx, got, "alice"); return err }); err != nil {
		t.Fatal(err)
	}
	if got := env.drive(e, r, 10); got.State != store.PipelineRunSucceeded || env.created-before != 1 {
		t.Fatalf("retried run %s with %d new pods, want succeeded with 1", got.State, env.created-before)
	}
}

func TestARestartedEngineAdoptsRunningPodsAndFinishesTheRun(t *testing.T) {
	env := newEngineEnv(t)
	ctx := t.Context()
	r := env.submit(nil)
	first := env.engine()
	for i := 0; i < 2; i++ {
		if err := first.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			env.kubelet(ctx)
		}
	}
	// prep done, two train pods running; a new engine (a restarted server) takes over.
	before := env.created
	second := env.engine()
	if err := second.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if env.created != before {
		t.Fatalf("the restarted engine made %d pods for steps already running", env.created-before)
	}
	if got := env.drive(second, r, 10); got.State != store.PipelineRunSucceeded || env.created != 5 {
		t.Fatalf("run %s with %d pods, want succeeded with 5", got.State, env.created)
	}
}

func TestCancelDeletesTheRunsPods(t *testing.T) {
	env := newEngineEnv(t)
	ctx := t.Context()
	e := env.engine()
	r := env.submit(nil)
	if err := e.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.db.Write(ctx, func(tx *store.Tx) error { _, err := tx.CancelPipelineRun(ctx, r, "alice"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := e.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	pods, _ := env.cs.CoreV1().Pods(tenants.Namespace("ml")).List(ctx, metav1.ListOptions{})
	if len(pods.Items) != 0 {
		t.Fatalf("%d pods left after cancel", len(pods.Items))
	}
	if got, steps := env.run(r); got.State != store.PipelineRunCancelled || steps["prep"].State != store.PipelineRunCancelled {
		t.Fatalf("run %s, prep %s", got.State, steps["prep"].State)
	}
}

func TestFinallyRunsAfterAFailureAndWhenSkips(t *testing.T) {
	env := newEngineEnv(t)
	ctx := t.Context()
	const spec = `apiVersion: ferry.dev/v1
kind: Pipeline
parameters:
  - {name: go, default: "no"}
steps:
  - {name: a, image: ferry.local/workload:1, command: ["false"], cache: false}
  - {name: b, image: ferry.local/workload:1, command: ["true"], dependsOn: [a]}
  - {name: c, image: ferry.local/workload:1, command: ["true"], when: "{{params.go}} == yes"}
finally:
  - {name: f, image: ferry.local/workload:1, command: ["true"], cache: false}
`
	parsed, err := Parse("spec", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	canon, digest, _ := Canonical(parsed)
	var r store.PipelineRun
	err = env.db.Write(ctx, func(tx *store.Tx) error {
		p, _, _, err := tx.PutPipelineVersion(ctx, "ml", "fin", "", string(canon), digest, "alice")
		if err != nil {
			return err
		}
		r, err = tx.CreatePipelineRun(ctx, p, 1, map[string]string{"go": "no"}, "", "alice")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env.fail["a"] = true
	got := env.drive(env.engine(), r, 10)
	_, steps := env.run(r)
	if got.State != store.PipelineRunFailed || steps["b"].State != "skipped" || steps["c"].State != "skipped" || steps["f"].State != store.PipelineRunSucceeded {
		t.Fatalf("run %s: a %s, b %s (%s), c %s (%s), f %s", got.State, steps["a"].State, steps["b"].State, steps["b"].Reason,
			steps["c"].State, steps["c"].Reason, steps["f"].State)
	}
}
