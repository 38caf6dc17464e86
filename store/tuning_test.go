package store

import (
	"errors"
	"math"
	"testing"
)

func TestTuningTrialsAreJobsWithChildRunsAndKeepTheirSuggestion(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	spec := JobSpec{Image: "img", Command: []string{"train", "--C=0.5"}, Replicas: 1, Resources: Resources{CPU: "1", Memory: "1Gi"}, Experiment: "ignored"}
	var tu Tuning
	var tr Trial
	var j Job
	err := db.Write(ctx, func(tx *Tx) (err error) {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "ml", DisplayName: "ml"}); err != nil {
			return err
		}
		if tu, err = tx.CreateTuning(ctx, Tuning{Tenant: "ml", Name: "svm", Spec: `{"name":"svm"}`, CreatedBy: "alice"}, "digits-tuning"); err != nil {
			return err
		}
		if _, err := tx.CreateTuning(ctx, Tuning{Tenant: "ml", Name: "svm", Spec: "{}", CreatedBy: "alice"}, ""); !errors.Is(err, ErrConflict) {
			t.Errorf("a taken tuning name: %v, want ErrConflict", err)
		}
		tr, j, err = tx.CreateTrial(ctx, tu, 0, map[string]string{"C": "0.5"}, "svm-t0", spec)
		if err != nil {
			return err
		}
		if _, _, err := tx.CreateTrial(ctx, tu, 1, map[string]string{"C": "1"}, "svm-t0", spec); !errors.Is(err, ErrConflict) {
			t.Errorf("a taken job name: %v, want ErrConflict", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Read(ctx, func(tx *Tx) error {
		parent, err := tx.Run(ctx, "ml", tu.RunID)
		if err != nil {
			return err
		}
		e, err := tx.Experiment(ctx, "ml", parent.Info.ExperimentID)
		if err != nil || e.Name != "digits-tuning" || parent.Info.Status != RunRunning {
			t.Errorf("the tuning's run: %+v in %+v, %v", parent.Info, e, err)
		}
		child, err := tx.Run(ctx, "ml", tr.RunID)
		if err != nil {
			return err
		}
		tags := map[string]string{}
		for _, kv := range child.Tags {
			tags[kv.Key] = kv.Value
		}
		if child.Info.ParentRunID != tu.RunID || tags[TagParentRunID] != tu.RunID || tags[TagTuningParam+"C"] != "0.5" || tags[TagTuningTrial] != "0" || child.Info.ExperimentID != tu.ExperimentID {
			t.Errorf("trial run: %+v %v", child.Info, tags)
		}
		got, err := tx.JobByID(ctx, j.ID)
		if err != nil || got.RunID != tr.RunID || got.State != JobQueued || got.Spec.Experiment != "" {
			t.Errorf("trial job: %+v, %v", got, err)
		}
		active, err := tx.ActiveTunings(ctx)
		if err != nil || len(active) != 1 {
			t.Errorf("active tunings: %v, %v", active, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = db.Write(ctx, func(tx *Tx) error {
		// Two points at step 1: the later one counts.
		if err := tx.LogBatch(ctx, "ml", tr.RunID, []Metric{{Key: "acc", Value: 0.2, Timestamp: 1, Step: 0}, {Key: "acc", Value: 0.3, Timestamp: 2, Step: 1},
			{Key: "acc", Value: 0.4, Timestamp: 3, Step: 1}, {Key: "acc", Value: math.NaN(), Timestamp: 4, Step: 2}}, nil, nil); err != nil {
			return err
		}
		s, err := tx.SummarizeMetric(ctx, tr.RunID, "acc")
		if err != nil || s.Points != 4 || s.Last.Step != 2 || !math.IsNaN(s.Last.Value) || s.Min != 0.2 || s.Max != 0.4 {
			t.Errorf("summary %+v, %v", s, err)
		}
		at, err := tx.MetricAtStep(ctx, []string{tr.RunID, "0123456789abcdef0123456789abcdef"}, "acc", 1)
		if err != nil || len(at) != 1 || at[tr.RunID] != 0.4 {
			t.Errorf("at step 1: %v, %v", at, err)
		}
		none, err := tx.SummarizeMetric(ctx, tr.RunID, "loss")
		if err != nil || none.Points != 0 {
			t.Errorf("an unlogged metric: %+v, %v", none, err)
		}
		// An infinite value is no objective (and no JSON): not kept.
		if inf, err := tx.UpdateTrial(ctx, tu.ID, 0, TrialUpdate{Value: new(math.Inf(1)), Step: new(int64(1))}); err != nil || inf.Value != nil {
			t.Errorf("a trial took +Inf as its value: %+v, %v", inf, err)
		}
		if _, err := tx.UpdateTrial(ctx, tu.ID, 0, TrialUpdate{State: TrialPruned, Reason: new("median"), Value: new(0.4), Step: new(int64(1))}); err != nil {
			return err
		}
		again, err := tx.UpdateTrial(ctx, tu.ID, 0, TrialUpdate{State: TrialSucceeded, Reason: new("late")})
		if err != nil || again.State != TrialPruned || again.Reason != "median" || *again.Value != 0.4 || again.FinishedAt == nil {
			t.Errorf("a final trial keeps its state: %+v, %v", again, err)
		}
		ended, err := tx.EndTuning(ctx, tu.ID, TuningSucceeded, "all done")
		if err != nil || ended.State != TuningSucceeded || ended.FinishedAt == nil {
			t.Errorf("end: %+v, %v", ended, err)
		}
		if _, err := tx.EndTuning(ctx, tu.ID, TuningStopped, "late"); !errors.Is(err, ErrConflict) {
			t.Errorf("ending an ended tuning: %v, want ErrConflict", err)
		}
		run, err := tx.RunInfo(ctx, "ml", tu.RunID)
		if err != nil || run.Status != RunFinished || run.EndTime == nil {
			t.Errorf("the tuning's run after the end: %+v, %v", run, err)
		}
		active, err := tx.ActiveTunings(ctx)
		if err != nil || len(active) != 0 {
			t.Errorf("an ended tuning without running trials is not active: %v, %v", active, err)
		}
		counts, err := tx.CountTrials(ctx, tu.ID)
		if err != nil || counts[TrialPruned] != 1 {
			t.Errorf("counts: %v, %v", counts, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
