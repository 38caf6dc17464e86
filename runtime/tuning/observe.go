package tuning

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// ReasonNoMetric starts the reason of a trial whose job succeeded without
// logging the objective.
const ReasonNoMetric = "the run logged no value of the objective metric "

// observe reads a running trial's job and its run's objective metric and
// moves the trial on: to the job's final state, to pruned when the median
// rule stops it, to cancelled when its tuning has ended.
func (c *Controller) observe(ctx context.Context, t store.Tuning, spec v1.TuningSpec, tr store.Trial, completed []string) (store.Trial, error) {
	metric := spec.Objective.Metric
	var job store.Job
	var sum store.MetricSummary
	var atStep map[string]float64
	var keys []string
	jobGone := false
	err := c.DB.Read(ctx, func(tx *store.Tx) (err error) {
		job, err = tx.JobByID(ctx, tr.JobID)
		if errors.Is(err, store.ErrNotFound) {
			jobGone = true
		} else if err != nil {
			return err
		}
		if sum, err = tx.SummarizeMetric(ctx, tr.RunID, metric); err != nil {
			return err
		}
		if spec.EarlyStopping != nil && sum.Points > 0 && !job.State.Done() && t.State == store.TuningRunning {
			if atStep, err = tx.MetricAtStep(ctx, completed, metric, sum.Last.Step); err != nil {
				return err
			}
		}
		if job.State == store.JobSucceeded && sum.Points == 0 {
			keys, err = tx.RunMetricKeys(ctx, tr.RunID, 20)
		}
		return err
	})
	if err != nil {
		return tr, err
	}
	u := store.TrialUpdate{}
	if sum.Points > 0 {
		u.Value, u.Step = &sum.Last.Value, &sum.Last.Step
	}
	reason := func(s string) *string { return &s }
	switch {
	case jobGone:
		u.State, u.Reason = store.TrialFailed, reason("its job "+tr.Job+" was deleted")
	case job.State == store.JobSucceeded && (sum.Points == 0 || math.IsNaN(sum.Last.Value) || math.IsInf(sum.Last.Value, 0)):
		logged := "nothing"
		if len(keys) > 0 {
			logged = strings.Join(keys, ", ")
		}
		u.State, u.Reason = store.TrialFailed, reason(fmt.Sprintf("%s%s (it logged: %s)", ReasonNoMetric, metric, logged))
	case job.State == store.JobSucceeded:
		u.State = store.TrialSucceeded
	case job.State == store.JobFailed:
		u.State, u.Reason = store.TrialFailed, reason("job "+tr.Job+" failed: "+job.Reason)
	case job.State == store.JobCancelled:
		u.State, u.Reason = store.TrialCancelled, reason("job "+tr.Job+" "+job.Reason)
	case t.State != store.TuningRunning:
		return c.cancel(ctx, tr, job, "tuning "+t.Name, store.TrialCancelled, fmt.Sprintf("the tuning is %s: %s", t.State, t.Reason), u)
	case atStep != nil:
		rule := MedianRule{StartupTrials: spec.EarlyStopping.StartupTrials, WarmupSteps: spec.EarlyStopping.WarmupSteps, MinTrials: spec.EarlyStopping.MinTrials}
		minimize := spec.Objective.Direction == v1.Minimize
		best := sum.Max
		if minimize {
			best = sum.Min
		}
		values := make([]float64, 0, len(atStep))
		for _, v := range atStep {
			values = append(values, v)
		}
		if d := rule.Decide(minimize, len(completed), sum.Last.Step, best, values); d.Prune {
			why := fmt.Sprintf("stopped early at step %d by the median rule: its best %s so far, %g, is worse than the median %g of %d completed trials at that step",
				d.Step, metric, d.Best, d.Median, d.Trials)
			return c.cancel(ctx, tr, job, "tuning "+t.Name+" (median stopping rule)", store.TrialPruned, why, u)
		}
	}
	if u.State == "" && sameValue(tr, u) {
		return tr, nil
	}
	err = c.DB.Write(ctx, func(tx *store.Tx) (err error) {
		tr, err = tx.UpdateTrial(ctx, tr.TuningID, tr.Number, u)
		return err
	})
	if err == nil && u.State != "" {
		c.Log.Info("trial ended", "tenant", t.Tenant, "tuning", t.Name, "trial", tr.Number, "state", tr.State, "value", deref(tr.Value), "reason", tr.Reason)
	}
	return tr, err
}

// cancel stops a trial's job and records the trial's state in the
// transaction of the cancel.
func (c *Controller) cancel(ctx context.Context, tr store.Trial, job store.Job, by, state, reason string, u store.TrialUpdate) (store.Trial, error) {
	u.State, u.Reason = state, &reason
	_, err := c.Jobs.Cancel(ctx, job, by, func(tx *store.Tx) (err error) {
		tr, err = tx.UpdateTrial(ctx, tr.TuningID, tr.Number, u)
		return err
	})
	if err != nil {
		return tr, fmt.Errorf("cancel job %s: %w", job.Name, err)
	}
	c.Log.Info("trial stopped", "tenant", job.Tenant, "job", job.Name, "trial", tr.Number, "state", state, "reason", reason)
	return tr, nil
}

func sameValue(tr store.Trial, u store.TrialUpdate) bool {
	if u.Value == nil {
		return true
	}
	return tr.Value != nil && tr.Step != nil && *tr.Value == *u.Value && *tr.Step == *u.Step
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// Verdict says whether a running tuning is over, as what and why ("" when
// it goes on): a trial reached the goal; the first completed trials never
// logged the objective; more trials failed than allowed; every trial ended.
func Verdict(spec v1.TuningSpec, trials []store.Trial) (string, string) {
	metric := spec.Objective.Metric
	running, failed, noMetric, withValue := 0, 0, 0, 0
	var lastFailed store.Trial
	for _, tr := range trials {
		switch tr.State {
		case store.TrialRunning:
			running++
		case store.TrialFailed:
			failed++
			lastFailed = tr
			if strings.HasPrefix(tr.Reason, ReasonNoMetric) {
				noMetric++
			}
		}
		if tr.Value != nil {
			withValue++
		}
	}
	if best, ok := Best(spec.Objective.Direction, trials); ok && spec.Objective.Goal != nil {
		g := *spec.Objective.Goal
		if (spec.Objective.Direction == v1.Minimize && *best.Value <= g) || (spec.Objective.Direction == v1.Maximize && *best.Value >= g) {
			return store.TuningSucceeded, fmt.Sprintf("trial %d reached the goal: %s %g (goal %g)", best.Number, metric, *best.Value, g)
		}
	}
	maxFailed := deref32(spec.MaxFailedTrials, DefaultMaxFailed)
	if first := min(3, spec.MaxTrials); withValue == 0 && noMetric > 0 && (noMetric >= first || failed > maxFailed && noMetric == failed) {
		return store.TuningFailed, fmt.Sprintf("the objective metric %s was never logged: the first %d trials that completed logged no value of it (trial %d: %s)",
			metric, noMetric, lastFailed.Number, strings.TrimPrefix(lastFailed.Reason, ReasonNoMetric+metric+" "))
	}
	if failed > maxFailed {
		return store.TuningFailed, fmt.Sprintf("%d trials failed, more than maxFailedTrials (%d); the last, trial %d: %s", failed, maxFailed, lastFailed.Number, lastFailed.Reason)
	}
	if running > 0 || len(trials) < spec.MaxTrials {
		return "", ""
	}
	best, ok := Best(spec.Objective.Direction, trials)
	if !ok {
		return store.TuningFailed, fmt.Sprintf("all %d trials ended and none succeeded with a value of %s", len(trials), metric)
	}
	return store.TuningSucceeded, fmt.Sprintf("all %d trials ended; the best is trial %d: %s %g", len(trials), best.Number, metric, *best.Value)
}

func deref32(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

// Best is the succeeded trial with the best value (the lowest number on a tie).
func Best(direction string, trials []store.Trial) (store.Trial, bool) {
	var best store.Trial
	found := false
	for _, tr := range trials {
		if tr.State != store.TrialSucceeded || tr.Value == nil || math.IsNaN(*tr.Value) {
			continue
		}
		better := !found || (direction == v1.Minimize && *tr.Value < *best.Value) || (direction == v1.Maximize && *tr.Value > *best.Value)
		if better {
			best, found = tr, true
		}
	}
	return best, found
}

// Observations are the trials the samplers learn from: completed ones with
// a value and pruned ones, as losses (a maximized metric negated).
func Observations(sp Space, direction string, trials []store.Trial) []Observation {
	sign := 1.0
	if direction == v1.Maximize {
		sign = -1
	}
	var out []Observation
	for _, tr := range trials {
		if tr.State != store.TrialSucceeded && tr.State != store.TrialPruned {
			continue
		}
		if tr.State == store.TrialSucceeded && (tr.Value == nil || math.IsNaN(*tr.Value)) {
			continue
		}
		x, err := sp.Point(tr.Params)
		if err != nil {
			continue
		}
		o := Observation{Number: tr.Number, X: x, Pruned: tr.State == store.TrialPruned}
		if tr.Value != nil && !math.IsNaN(*tr.Value) {
			o.Loss, o.HasLoss = sign**tr.Value, true
		}
		if tr.Step != nil {
			o.Step = *tr.Step
		}
		out = append(out, o)
	}
	return out
}
