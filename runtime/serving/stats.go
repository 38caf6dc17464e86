package serving

import (
	"sort"
	"sync"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// Stats keeps the gateways' reports: per revision, the samples of the last
// Window (requests, errors, latency) and each gateway's latest in-flight
// and held counts. Gateways push (rather than being scraped) because they
// are stateless replicas behind one Service that the control plane would
// otherwise have to discover one by one, and because a held request must
// reach the autoscaler at once to start a revision from zero.
type Stats struct {
	// Window is how far back rates and percentiles look (default 60s).
	Window time.Duration
	mu     sync.Mutex
	revs   map[string]*revStats
}

type sample struct {
	at               time.Time
	requests, errors int64
	p50, p99         float64
}

type gwLoad struct {
	at                time.Time
	inFlight, waiting int64
}

type revStats struct {
	samples []sample
	load    map[string]gwLoad
	last    time.Time
}

func key(tenant, deployment, revision string) string {
	return tenant + "/" + deployment + "/" + revision
}

// Report adds a gateway's report received at now.
func (s *Stats) Report(now time.Time, r v1.GatewayReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revs == nil {
		s.revs = map[string]*revStats{}
	}
	for _, rr := range r.Revisions {
		k := key(rr.Tenant, rr.Deployment, rr.Revision)
		rs := s.revs[k]
		if rs == nil {
			rs = &revStats{load: map[string]gwLoad{}}
			s.revs[k] = rs
		}
		if rr.Requests > 0 {
			rs.samples = append(rs.samples, sample{at: now, requests: rr.Requests, errors: rr.Errors, p50: rr.P50Ms, p99: rr.P99Ms})
		}
		if rr.Requests > 0 || rr.InFlight > 0 || rr.Waiting > 0 {
			rs.last = now
		}
		rs.load[r.Gateway] = gwLoad{at: now, inFlight: rr.InFlight, waiting: rr.Waiting}
	}
}

func (s *Stats) window() time.Duration {
	if s.Window > 0 {
		return s.Window
	}
	return time.Minute
}

// Since is a revision's window of samples newer than from (and within Window).
func (s *Stats) Since(tenant, deployment, revision string, from, now time.Time) (Window, v1.RevisionStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.revs[key(tenant, deployment, revision)]
	if rs == nil {
		return Window{}, v1.RevisionStats{}
	}
	cut := now.Add(-s.window())
	kept := rs.samples[:0]
	for _, x := range rs.samples {
		if x.at.After(cut) {
			kept = append(kept, x)
		}
	}
	rs.samples = kept
	var w Window
	var p50s []float64
	var out v1.RevisionStats
	for _, x := range kept {
		out.Requests += x.requests
		out.Errors += x.errors
		p50s = append(p50s, x.p50)
		out.P99Ms = max(out.P99Ms, x.p99)
		if !x.at.Before(from) {
			w.Requests += x.requests
			w.Errors += x.errors
			w.P99Ms = max(w.P99Ms, x.p99)
		}
	}
	if len(p50s) > 0 {
		sort.Float64s(p50s)
		out.P50Ms = p50s[len(p50s)/2]
	}
	out.RPS = float64(out.Requests) / s.window().Seconds()
	out.ErrorRate = w.ErrorRate()
	if out.Requests > 0 {
		out.ErrorRate = float64(out.Errors) / float64(out.Requests)
	}
	l := s.loadLocked(rs, now)
	out.InFlight = l.InFlight
	return w, out
}

// Load is a revision's demand now: the sum over gateways that reported in
// the last 15 seconds.
func (s *Stats) Load(tenant, deployment, revision string, now time.Time) Load {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.revs[key(tenant, deployment, revision)]
	if rs == nil {
		return Load{}
	}
	return s.loadLocked(rs, now)
}

func (s *Stats) loadLocked(rs *revStats, now time.Time) Load {
	l := Load{LastRequest: rs.last}
	for gw, g := range rs.load {
		if now.Sub(g.at) > 15*time.Second {
			delete(rs.load, gw)
			continue
		}
		l.InFlight += g.inFlight
		l.Waiting += g.waiting
	}
	return l
}
