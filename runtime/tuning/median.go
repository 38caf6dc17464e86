package tuning

import (
	"math"
	"slices"
)

// MedianRule is the median stopping rule as Optuna's MedianPruner applies
// it: once StartupTrials trials have completed, a running trial at step s
// (s ≥ WarmupSteps) whose best intermediate value so far is worse than the
// median of the completed trials' values at step s (at least MinTrials of
// them logged one) is stopped.
type MedianRule struct {
	StartupTrials int
	WarmupSteps   int64
	MinTrials     int
}

// Decision says why a trial is stopped, or that it goes on.
type Decision struct {
	Prune  bool
	Step   int64
	Best   float64
	Median float64
	Trials int
}

// Decide judges a running trial. completed is the number of completed
// trials; atStep are their values at the trial's latest step (those that
// logged one); best is the trial's best value so far (lowest when
// minimizing) and step its latest step. A NaN best (every value NaN) is
// stopped, as Optuna does.
func (m MedianRule) Decide(minimize bool, completed int, step int64, best float64, atStep []float64) Decision {
	d := Decision{Step: step, Best: best, Trials: len(atStep)}
	if completed < m.StartupTrials || step < m.WarmupSteps || len(atStep) < max(m.MinTrials, 1) {
		return d
	}
	d.Median = median(atStep)
	if math.IsNaN(best) {
		d.Prune = true
		return d
	}
	if minimize {
		d.Prune = best > d.Median
	} else {
		d.Prune = best < d.Median
	}
	return d
}

// median of the values that are not NaN (NaN when none is).
func median(xs []float64) float64 {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
