package serving

import (
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

func TestDecideAdvancesHoldsPromotesAndRollsBack(t *testing.T) {
	p := WithDefaults(v1.RolloutPolicy{StepWeight: 30, BakeSeconds: 10})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	healthy := Window{Requests: 100, Errors: 1, P99Ms: 12}
	stable := Window{Requests: 400, Errors: 4, P99Ms: 10}
	for _, c := range []struct {
		name        string
		weight      int32
		after       time.Duration
		stable      Window
		canary      Window
		want        string
		weightAfter int32
	}{
		{"baking holds", 20, 5 * time.Second, stable, healthy, Hold, 20},
		{"baked and healthy advances", 20, 11 * time.Second, stable, healthy, Advance, 50},
		{"last step promotes", 80, 11 * time.Second, stable, healthy, Promote, 100},
		{"too few requests holds", 20, 11 * time.Second, stable, Window{Requests: 3}, Hold, 20},
		{"errors beyond stable roll back even while baking", 20, time.Second, stable, Window{Requests: 50, Errors: 10, P99Ms: 10}, Rollback, 0},
		{"every request failing rolls back before min requests", 20, time.Second, stable, Window{Requests: 6, Errors: 6}, Rollback, 0},
		{"slow p99 rolls back", 20, 11 * time.Second, stable, Window{Requests: 100, P99Ms: 250}, Rollback, 0},
		{"a p99 over the ratio by a few ms is noise, not a regression", 20, 11 * time.Second, stable, Window{Requests: 100, P99Ms: 25}, Advance, 50},
		{"errors within the allowed delta advance", 20, 11 * time.Second, Window{Requests: 100, Errors: 10, P99Ms: 10}, Window{Requests: 100, Errors: 14, P99Ms: 10}, Advance, 50},
	} {
		got := Decide(p, c.weight, t0, t0.Add(c.after), c.stable, c.canary)
		if got.Action != c.want || got.Weight != c.weightAfter || got.Reason == "" {
			t.Errorf("%s: %+v, want %s at %d with a reason", c.name, got, c.want, c.weightAfter)
		}
	}
	if got := Decide(WithDefaults(v1.RolloutPolicy{}), 20, t0, t0.Add(time.Hour), stable, healthy); got.Action != Hold {
		t.Errorf("step 0 (manual): %+v, want hold", got)
	}
}

func TestAutoscaleFollowsConcurrencyBoundsAndIdles(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Scale{Min: 0, Max: 5, Concurrency: 4, Idle: time.Minute}
	for _, c := range []struct {
		name    string
		s       Scale
		current int32
		l       Load
		want    int32
	}{
		{"held request scales from zero", s, 0, Load{Waiting: 1, LastRequest: now}, 1},
		{"in flight over concurrency adds replicas", s, 1, Load{InFlight: 9, LastRequest: now}, 3},
		{"capped at max", s, 3, Load{InFlight: 100, LastRequest: now}, 5},
		{"recently used keeps one", s, 1, Load{LastRequest: now.Add(-30 * time.Second)}, 1},
		{"idle goes to zero", s, 1, Load{LastRequest: now.Add(-2 * time.Minute)}, 0},
		{"never used stays at zero", s, 0, Load{}, 0},
		{"min holds", Scale{Min: 2, Max: 5, Concurrency: 4, Idle: time.Minute}, 2, Load{}, 2},
		{"scales down one step at a time", s, 5, Load{InFlight: 1, LastRequest: now}, 4},
		{"max zero is off", Scale{Max: 0}, 1, Load{Waiting: 3}, 0},
	} {
		if got := Autoscale(c.s, c.current, c.l, now); got != c.want {
			t.Errorf("%s: %d replicas, want %d", c.name, got, c.want)
		}
	}
}
