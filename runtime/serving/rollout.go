package serving

import (
	"fmt"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// Rollout actions.
const (
	Hold     = "hold"
	Advance  = "advance"
	Promote  = "promote"
	Rollback = "rollback"
)

// Window is what a revision did over the rollout's window.
type Window struct {
	Requests int64
	Errors   int64
	P99Ms    float64
}

// ErrorRate is errors per request (0 without requests).
func (w Window) ErrorRate() float64 {
	if w.Requests == 0 {
		return 0
	}
	return float64(w.Errors) / float64(w.Requests)
}

// Decision is what the rollout does next with a canary.
type Decision struct {
	Action string
	// Weight is the canary's weight after the decision.
	Weight int32
	Reason string
}

// MinP99DeltaMs is the p99 difference below which a canary is never
// judged slow, whatever the ratio: over the few dozen requests a canary is
// first judged on, p99 is close to the maximum, and at millisecond scale a
// ratio is noise (a 3 ms canary against a 1 ms stable is no regression).
// A new process's first answers can be slower by far more on a loaded
// node (seen on the cluster: 465 ms against stable's 55 ms); a policy that
// must not judge latency at all sets MaxP99Ratio high.
const MinP99DeltaMs = 50

// WithDefaults fills a policy's zero fields.
func WithDefaults(p v1.RolloutPolicy) v1.RolloutPolicy {
	if p.BakeSeconds == 0 {
		p.BakeSeconds = 60
	}
	if p.MaxErrorRateDelta == 0 {
		p.MaxErrorRateDelta = 0.05
	}
	if p.MaxP99Ratio == 0 {
		p.MaxP99Ratio = 2
	}
	if p.MinRequests == 0 {
		p.MinRequests = 20
	}
	return p
}

// Decide is the rollout state machine's step for a canary at weight that
// has held it since since: roll back as soon as the canary's error rate or
// p99 is beyond the thresholds against stable's (judged once it has
// MinRequests; errors alone judge it sooner when every request failed);
// otherwise advance by StepWeight after BakeSeconds (promote at 100), or
// hold. A StepWeight of 0 never advances (promotion by hand).
func Decide(p v1.RolloutPolicy, weight int32, since, now time.Time, stable, canary Window) Decision {
	hold := func(why string) Decision { return Decision{Action: Hold, Weight: weight, Reason: why} }
	judged := canary.Requests >= p.MinRequests || (canary.Errors >= 5 && canary.Errors == canary.Requests)
	if judged {
		if cr, sr := canary.ErrorRate(), stable.ErrorRate(); cr > sr+p.MaxErrorRateDelta {
			return Decision{Action: Rollback, Weight: 0, Reason: fmt.Sprintf("error rate %.1f%% against stable's %.1f%% (allowed +%.1f%%) over %d requests",
				100*cr, 100*sr, 100*p.MaxErrorRateDelta, canary.Requests)}
		}
		if stable.P99Ms > 0 && canary.P99Ms > p.MaxP99Ratio*stable.P99Ms && canary.P99Ms-stable.P99Ms > MinP99DeltaMs {
			return Decision{Action: Rollback, Weight: 0, Reason: fmt.Sprintf("p99 %.1f ms against stable's %.1f ms (allowed %.1f×)", canary.P99Ms, stable.P99Ms, p.MaxP99Ratio)}
		}
	}
	if p.StepWeight == 0 {
		return hold("manual promotion (step weight 0)")
	}
	if bake := time.Duration(p.BakeSeconds) * time.Second; now.Sub(since) < bake {
		return hold(fmt.Sprintf("baking at %d%% until %s", weight, since.Add(bake).UTC().Format(time.TimeOnly)))
	}
	if !judged {
		return hold(fmt.Sprintf("waiting for %d requests (has %d)", p.MinRequests, canary.Requests))
	}
	next := weight + p.StepWeight
	if next >= 100 {
		return Decision{Action: Promote, Weight: 100, Reason: fmt.Sprintf("healthy over %d requests at %d%%: promoted", canary.Requests, weight)}
	}
	return Decision{Action: Advance, Weight: next, Reason: fmt.Sprintf("healthy over %d requests at %d%%: advanced to %d%%", canary.Requests, weight, next)}
}
