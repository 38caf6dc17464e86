package gateway

import (
	"sort"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
	held     *prometheus.GaugeVec
	// limited counts credential lookups refused by the per-client limit
	// (no labels: client addresses would be unbounded).
	limited prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	labels := []string{"tenant", "deployment", "revision"}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_gateway_requests_total",
			Help: "Requests through the gateway per revision and answer class (2xx, 4xx, 5xx)."}, append(labels, "code")),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_gateway_request_duration_seconds",
			Help:    "Time from the gateway receiving a request to the backend's answer, held time included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, labels),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ferry_gateway_in_flight", Help: "Requests in flight per revision."}, labels),
		held:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ferry_gateway_held", Help: "Requests held by the activator per revision."}, labels),
		limited: prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_gateway_lookups_limited_total",
			Help: "Requests refused (429) because their client address spent its bucket of credential lookups that miss the token cache."}),
	}
	reg.MustRegister(m.requests, m.latency, m.inFlight, m.held, m.limited)
	return m
}

// revKey names one revision of one tenant (revision names hold the
// deployment's).
type revKey struct{ tenant, revision string }

// revMetrics are one revision's metric handles, looked up once.
type revMetrics struct {
	inFlight, held prometheus.Gauge
	latency        prometheus.Observer
	codes          [6]prometheus.Counter
}

// revisionCache holds the handles per revision.
type revisionCache struct {
	mu sync.RWMutex
	m  map[revKey]*revMetrics
}

func (m *metrics) revision(cache *revisionCache, tenant, dep, rev string) *revMetrics {
	k := revKey{tenant, rev}
	cache.mu.RLock()
	x, ok := cache.m[k]
	cache.mu.RUnlock()
	if ok {
		return x
	}
	l := prometheus.Labels{"tenant": tenant, "deployment": dep, "revision": rev}
	rm := &revMetrics{inFlight: m.inFlight.With(l), held: m.held.With(l), latency: m.latency.With(l)}
	for i := range rm.codes {
		rm.codes[i] = m.requests.With(prometheus.Labels{"tenant": tenant, "deployment": dep, "revision": rev, "code": strconv.Itoa(i) + "xx"})
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if x, ok := cache.m[k]; ok {
		return x
	}
	if cache.m == nil {
		cache.m = map[revKey]*revMetrics{}
	}
	cache.m[k] = rm
	return rm
}

// window accumulates one revision's requests between reports.
type window struct {
	tenant, deployment string
	requests, errors   int64
	inFlight           int64
	latencies          []float64
}

// maxSamples bounds the latencies kept per revision per report.
const maxSamples = 4096

// windows is every revision's window since the last report.
type windows struct {
	mu sync.Mutex
	m  map[revKey]*window
}

func (w *windows) get(tenant, dep, rev string) *window {
	if w.m == nil {
		w.m = map[revKey]*window{}
	}
	k := revKey{tenant, rev}
	x := w.m[k]
	if x == nil {
		x = &window{tenant: tenant, deployment: dep}
		w.m[k] = x
	}
	return x
}

func (w *windows) start(tenant, dep, rev string) {
	w.mu.Lock()
	w.get(tenant, dep, rev).inFlight++
	w.mu.Unlock()
}

func (w *windows) done(tenant, dep, rev string, failed bool, ms float64) {
	w.mu.Lock()
	x := w.get(tenant, dep, rev)
	x.inFlight--
	x.requests++
	if failed {
		x.errors++
	}
	if len(x.latencies) < maxSamples {
		x.latencies = append(x.latencies, ms)
	}
	w.mu.Unlock()
}

// drain is the report of the period just ended; counts restart, in-flight stays.
func (w *windows) drain(waiting func(key string) int) []v1.RevisionReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := []v1.RevisionReport{}
	for k, x := range w.m {
		r := v1.RevisionReport{Tenant: x.tenant, Deployment: x.deployment, Revision: k.revision, Requests: x.requests, Errors: x.errors,
			InFlight: x.inFlight, Waiting: int64(waiting(k.tenant + "/" + k.revision))}
		if len(x.latencies) > 0 {
			sort.Float64s(x.latencies)
			r.P50Ms = x.latencies[len(x.latencies)/2]
			r.P99Ms = x.latencies[min(len(x.latencies)-1, len(x.latencies)*99/100)]
		}
		out = append(out, r)
		x.requests, x.errors, x.latencies = 0, 0, x.latencies[:0]
		if x.inFlight == 0 && r.Waiting == 0 && r.Requests == 0 {
			delete(w.m, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision < out[j].Revision })
	return out
}
