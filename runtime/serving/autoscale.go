package serving

import "time"

// Load is a revision's demand now, summed over the gateways.
type Load struct {
	InFlight int64
	Waiting  int64
	// LastRequest is when a gateway last saw a request for it (zero: never).
	LastRequest time.Time
}

// Scale bounds a revision's replicas.
type Scale struct {
	Min, Max    int32
	Concurrency int32
	Idle        time.Duration
}

// Autoscale decides a revision's replicas: enough for its in-flight and
// held requests at Concurrency each, between Min and Max; at least one
// while requests wait (scale from zero) or while it was used within Idle;
// zero (when Min is 0) once idle for Idle. Scaling down is one step at a
// time, so a burst's end does not drop replicas that are still busy.
func Autoscale(s Scale, current int32, l Load, now time.Time) int32 {
	if s.Max <= 0 {
		return 0
	}
	c := int64(max(s.Concurrency, 1))
	want := int32(min((l.InFlight+l.Waiting+c-1)/c, int64(s.Max)))
	want = max(want, s.Min)
	if want == 0 {
		recent := !l.LastRequest.IsZero() && now.Sub(l.LastRequest) < s.Idle
		if l.Waiting > 0 || l.InFlight > 0 || (recent && current > 0) {
			want = 1
		}
	}
	if want < current-1 && want > 0 {
		want = current - 1
	}
	return min(want, s.Max)
}
