package tuning

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// world is a store, the jobs controller's Cancel against a fake API
// server, and the tuning controller. The test plays the jobs controller's
// other part (a job ends) and the trials' scripts (metrics by step).
type world struct {
	t    *testing.T
	path string
	db   *store.DB
	cs   *fake.Clientset
	ctrl *Controller
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, path: filepath.Join(t.TempDir(), "ferry.db")}
	w.open()
	t.Cleanup(func() { _ = w.db.Close() })
	w.write(func(tx *store.Tx) error {
		_, err := tx.CreateTenant(t.Context(), store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "8", Memory: "16Gi"}})
		return err
	})
	w.tenantNamespace()
	return w
}

// open (re)opens the store and builds new controllers on it, as a
// restarted server does: nothing survives but the database file.
func (w *world) open() {
	w.t.Helper()
	db, err := store.Open(w.t.Context(), store.Config{Path: w.path})
	if err != nil {
		w.t.Fatal(err)
	}
	logs, err := jobs.OpenLogs(w.t.Context(), "file://"+filepath.Join(filepath.Dir(w.path), "blobs")+"?create_dir=true")
	if err != nil {
		w.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.db, w.cs = db, fake.NewClientset()
	w.ctrl = NewController(db, jobs.NewController(db, w.cs, logs, log), log)
	w.tenantNamespace()
}

// tenantNamespace gives the fake cluster tenant a's namespace as ferry's
// tenants reconciler makes it (labelled with the tenant's id): the jobs
// controller writes into no other. Nothing to do before a exists.
func (w *world) tenantNamespace() {
	w.t.Helper()
	var tn store.Tenant
	err := w.db.Read(w.t.Context(), func(tx *store.Tx) (err error) {
		tn, err = tx.Tenant(w.t.Context(), "a")
		return err
	})
	if err != nil {
		return
	}
	if _, err := w.cs.CoreV1().Namespaces().Create(w.t.Context(), tenants.NamespaceObject(tn), metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) restart() {
	w.t.Helper()
	if err := w.db.Close(); err != nil {
		w.t.Fatal(err)
	}
	w.open()
}

func (w *world) write(fn func(*store.Tx) error) {
	w.t.Helper()
	if err := w.db.Write(w.t.Context(), fn); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) create(spec v1.TuningSpec) store.Tuning {
	w.t.Helper()
	if err := Validate("spec", &spec); err != nil {
		w.t.Fatal(err)
	}
	b, _ := json.Marshal(spec)
	var t store.Tuning
	w.write(func(tx *store.Tx) (err error) {
		t, err = tx.CreateTuning(w.t.Context(), store.Tuning{Tenant: "a", Name: spec.Name, Spec: string(b), CreatedBy: "alice"}, spec.Experiment)
		return err
	})
	return t
}

func (w *world) sync() {
	w.t.Helper()
	if err := w.ctrl.Sync(w.t.Context()); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) state(name string) (store.Tuning, []store.Trial) {
	w.t.Helper()
	var t store.Tuning
	var trials []store.Trial
	err := w.db.Read(w.t.Context(), func(tx *store.Tx) (err error) {
		if t, err = tx.Tuning(w.t.Context(), "a", name); err != nil {
			return err
		}
		trials, err = tx.Trials(w.t.Context(), t.ID, -1, 1000)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return t, trials
}

// logSteps logs metric at the steps of a trial's run.
func (w *world) logSteps(tr store.Trial, metric string, steps []int64, value func(step int64) float64) {
	w.t.Helper()
	var ms []store.Metric
	for _, s := range steps {
		ms = append(ms, store.Metric{Key: metric, Value: value(s), Timestamp: time.Now().UnixMilli(), Step: s})
	}
	w.write(func(tx *store.Tx) error { return tx.LogBatch(w.t.Context(), "a", tr.RunID, ms, nil, nil) })
}

// finish ends a trial's job as the jobs controller would.
func (w *world) finish(tr store.Trial, state store.JobState) {
	w.t.Helper()
	w.write(func(tx *store.Tx) error {
		_, err := tx.UpdateJob(w.t.Context(), tr.JobID, store.JobUpdate{State: state, FinishedAt: new(time.Now())})
		return err
	})
}

func tpeSpec(name string) v1.TuningSpec {
	return v1.TuningSpec{Name: name, Objective: v1.TuningObjective{Metric: "acc", Direction: v1.Maximize},
		Parameters: []v1.TuningParam{{Name: "x", Type: v1.TuningFloat, Min: new(0.0), Max: new(1.0)},
			{Name: "kernel", Type: v1.TuningCategorical, Values: []v1.Choice{"rbf", "linear"}}},
		Algorithm: v1.AlgorithmTPE, MaxTrials: 8, ParallelTrials: 2, Seed: 7,
		EarlyStopping: &v1.EarlyStopping{Type: v1.EarlyStoppingMedian, StartupTrials: 2},
		Trial: v1.TrialTemplate{Image: "ferry.local/workload:1", Command: []string{"python3", "train.py", "--x=${params.x}"},
			Env: map[string]string{"KERNEL": "${params.kernel}"}, Resources: v1.Resources{CPU: "1", Memory: "1Gi"}}}
}

// curve is a trial's accuracy at a step: it rises with the step towards
// 1 - (x - 0.3)², better with rbf.
func curve(tr store.Trial) func(int64) float64 {
	x, _ := strconv.ParseFloat(tr.Params["x"], 64)
	final := 1 - (x-0.3)*(x-0.3)
	if tr.Params["kernel"] == "linear" {
		final -= 0.2
	}
	return func(s int64) float64 { return final * float64(s+1) / 5 }
}

// drive runs a tuning to its end: in the first round a trial is seen it
// logs steps 0-2; in the next, if the median rule let it live, steps 3-4
// and its job succeeds. restartAt restarts the server before that round.
func (w *world) drive(name string, restartAt int) []store.Trial {
	w.t.Helper()
	seen := map[int]bool{}
	for round := 0; round < 100; round++ {
		if round == restartAt {
			w.restart()
		}
		w.sync()
		t, trials := w.state(name)
		if t.State != store.TuningRunning {
			w.sync()
			_, trials = w.state(name)
			return trials
		}
		for _, tr := range trials {
			if tr.State != store.TrialRunning {
				continue
			}
			if !seen[tr.Number] {
				seen[tr.Number] = true
				w.logSteps(tr, "acc", []int64{0, 1, 2}, curve(tr))
				continue
			}
			w.logSteps(tr, "acc", []int64{3, 4}, curve(tr))
			w.finish(tr, store.JobSucceeded)
		}
	}
	w.t.Fatalf("tuning %s did not end in 100 rounds", name)
	return nil
}

func TestControllerRunsTrialsAsJobsPrunesAndResumesAfterARestartWithTheSameSuggestions(t *testing.T) {
	t.Parallel()
	straight, restarted := newWorld(t), newWorld(t)
	straight.create(tpeSpec("svm"))
	restarted.create(tpeSpec("svm"))
	a := straight.drive("svm", -1)
	b := restarted.drive("svm", 3)

	if len(a) != 8 || len(b) != 8 {
		t.Fatalf("trials: %d and %d, want 8", len(a), len(b))
	}
	for i := range a {
		if !maps(a[i].Params, b[i].Params) || a[i].State != b[i].State {
			t.Errorf("trial %d: %v %s without a restart, %v %s with one", i, a[i].Params, a[i].State, b[i].Params, b[i].State)
		}
	}
	tu, trials := restarted.state("svm")
	if tu.State != store.TuningSucceeded || !strings.Contains(tu.Reason, "all 8 trials ended") {
		t.Errorf("tuning %s: %s", tu.State, tu.Reason)
	}
	pruned := 0
	var parents []string
	err := restarted.db.Read(t.Context(), func(tx *store.Tx) error {
		for _, tr := range trials {
			info, err := tx.RunInfo(t.Context(), "a", tr.RunID)
			if err != nil {
				return err
			}
			parents = append(parents, info.ParentRunID)
			j, err := tx.JobByID(t.Context(), tr.JobID)
			if err != nil {
				return err
			}
			if j.Spec.Env["KERNEL"] != tr.Params["kernel"] || !slices.Contains(j.Spec.Command, "--x="+tr.Params["x"]) {
				t.Errorf("trial %d's job does not carry its params: %v %v", tr.Number, j.Spec.Command, j.Spec.Env)
			}
			if tr.State == store.TrialPruned {
				pruned++
				if j.State != store.JobCancelled || !strings.Contains(j.Reason, "median stopping rule") || !strings.Contains(tr.Reason, "median") {
					t.Errorf("pruned trial %d: job %s %q, trial %q", tr.Number, j.State, j.Reason, tr.Reason)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pruned == 0 {
		t.Errorf("no trial was stopped early: %v", states(trials))
	}
	for i, p := range parents {
		if p != tu.RunID {
			t.Errorf("trial %d's run has parent %q, want the tuning's run %s", i, p, tu.RunID)
		}
	}
	best, ok := Best(v1.Maximize, trials)
	if !ok {
		t.Fatal("no best trial")
	}
	for _, tr := range trials {
		if tr.State == store.TrialSucceeded && *tr.Value > *best.Value {
			t.Errorf("trial %d (%v) beats the best %d (%v)", tr.Number, *tr.Value, best.Number, *best.Value)
		}
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func states(trials []store.Trial) []string {
	var out []string
	for _, tr := range trials {
		out = append(out, strconv.Itoa(tr.Number)+":"+tr.State)
	}
	return out
}

func TestControllerFailsATuningWhoseTrialsNeverLogTheObjective(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	spec := tpeSpec("nometric")
	spec.MaxTrials, spec.ParallelTrials, spec.EarlyStopping = 10, 1, nil
	w.create(spec)
	for range 20 {
		w.sync()
		tu, trials := w.state("nometric")
		if tu.State != store.TuningRunning {
			break
		}
		for _, tr := range trials {
			if tr.State == store.TrialRunning {
				w.logSteps(tr, "accuracy", []int64{0}, func(int64) float64 { return 0.5 })
				w.finish(tr, store.JobSucceeded)
			}
		}
	}
	tu, trials := w.state("nometric")
	if tu.State != store.TuningFailed || !strings.Contains(tu.Reason, "objective metric acc was never logged") || !strings.Contains(tu.Reason, "accuracy") {
		t.Errorf("tuning %s: %q", tu.State, tu.Reason)
	}
	if len(trials) != 3 {
		t.Errorf("%d trials ran, want the first 3 only", len(trials))
	}
}

func TestControllerEndsAtTheGoalAndCancelsRunningTrials(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	spec := tpeSpec("goal")
	spec.Objective.Goal, spec.EarlyStopping, spec.ParallelTrials = new(0.5), nil, 3
	w.create(spec)
	w.sync()
	_, trials := w.state("goal")
	if len(trials) != 3 {
		t.Fatalf("%d trials started, want 3 in parallel", len(trials))
	}
	w.logSteps(trials[1], "acc", []int64{0}, func(int64) float64 { return 0.9 })
	w.finish(trials[1], store.JobSucceeded)
	w.sync()
	tu, trials := w.state("goal")
	if tu.State != store.TuningSucceeded || !strings.Contains(tu.Reason, "trial 1 reached the goal") {
		t.Errorf("tuning %s: %q", tu.State, tu.Reason)
	}
	for _, i := range []int{0, 2} {
		if trials[i].State != store.TrialCancelled {
			t.Errorf("trial %d is %s, want cancelled", i, trials[i].State)
		}
	}
	if len(trials) != 3 {
		t.Errorf("%d trials, want no new one after the goal", len(trials))
	}
	deleted := 0
	for _, a := range w.cs.Actions() {
		if a.GetVerb() == "delete" && a.GetResource().Resource == "jobs" {
			deleted++
		}
	}
	if deleted != 2 {
		t.Errorf("%d Kubernetes Jobs deleted, want the 2 cancelled trials'", deleted)
	}
}

func TestControllerFailsATuningAfterMoreFailuresThanAllowed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	spec := tpeSpec("flaky")
	spec.MaxFailedTrials, spec.EarlyStopping, spec.ParallelTrials = new(1), nil, 1
	w.create(spec)
	for range 5 {
		w.sync()
		_, trials := w.state("flaky")
		for _, tr := range trials {
			if tr.State == store.TrialRunning {
				w.finish(tr, store.JobFailed)
			}
		}
	}
	tu, trials := w.state("flaky")
	if tu.State != store.TuningFailed || !strings.Contains(tu.Reason, "2 trials failed, more than maxFailedTrials (1)") || len(trials) != 2 {
		t.Errorf("tuning %s: %q after %d trials", tu.State, tu.Reason, len(trials))
	}
}

func TestControllerCancelsTheRunningTrialsOfAStoppedTuning(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tu := w.create(tpeSpec("stopme"))
	w.sync()
	w.write(func(tx *store.Tx) error {
		_, err := tx.EndTuning(context.Background(), tu.ID, store.TuningStopped, "stopped by alice")
		return err
	})
	w.sync()
	tu, trials := w.state("stopme")
	if tu.State != store.TuningStopped || len(trials) != 2 {
		t.Fatalf("tuning %s with %d trials", tu.State, len(trials))
	}
	for _, tr := range trials {
		if tr.State != store.TrialCancelled || !strings.Contains(tr.Reason, "stopped by alice") {
			t.Errorf("trial %d: %s %q", tr.Number, tr.State, tr.Reason)
		}
	}
	var run store.RunInfo
	_ = w.db.Read(t.Context(), func(tx *store.Tx) (err error) { run, err = tx.RunInfo(t.Context(), "a", tu.RunID); return err })
	if run.Status != store.RunKilled {
		t.Errorf("the tuning's run is %s, want KILLED", run.Status)
	}
}
