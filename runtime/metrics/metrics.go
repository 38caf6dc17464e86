// Package metrics holds the control plane's event metrics (counters and
// histograms that the controllers observe as things happen): job
// admission and queue wait, pipeline step durations and cache hits,
// reconcile durations and errors. It imports nothing of ferry, so every
// controller may use it; runtime/server registers them on the registry
// that /metrics serves, next to the gauges runtime/monitor reads from the
// store. Labels are bounded: tenants (created by admins), controller
// names, fixed states; never object names, users or paths.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Admission decisions (JobAdmissions' decision label).
const (
	Admitted     = "admitted"
	Queued       = "queued"
	Inadmissible = "inadmissible"
)

var (
	// JobAdmissions counts admission decisions per tenant: admitted once per
	// job; queued and inadmissible each time a queued job's reason changes.
	JobAdmissions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_job_admission_decisions_total", Help: "Admission decisions on queued jobs, by tenant and decision (admitted, queued, inadmissible).",
	}, []string{"tenant", "decision"})
	// JobQueueWait is how long admitted jobs waited, submit to admission.
	JobQueueWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "ferry_job_queue_wait_seconds", Help: "Time from a job's submission to its admission, by tenant.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400},
	}, []string{"tenant"})
	// StepDuration is how long pipeline steps' pods ran, by outcome.
	StepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "ferry_pipeline_step_duration_seconds", Help: "Run time of pipeline step pods (start to end), by tenant and state (succeeded, failed).",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600},
	}, []string{"tenant", "state"})
	// StepCache counts cacheable steps by whether the cache answered them.
	StepCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_pipeline_step_cache_total", Help: "Cacheable pipeline steps by tenant and result (hit: no pod ran; miss).",
	}, []string{"tenant", "result"})
	// ReconcileDuration is how long one controller pass took.
	ReconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "ferry_controller_reconcile_duration_seconds", Help: "Duration of controller passes (a loop's sync or a queue's key), by controller.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"controller"})
	// ReconcileErrors counts failed passes.
	ReconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_controller_reconcile_errors_total", Help: "Controller passes that failed (and will be retried with backoff), by controller.",
	}, []string{"controller"})
)

// All are the metrics of this package, for a registry.
func All() []prometheus.Collector {
	return []prometheus.Collector{JobAdmissions, JobQueueWait, StepDuration, StepCache, ReconcileDuration, ReconcileErrors}
}

// Reconciled records one controller pass that started at start.
func Reconciled(controller string, start time.Time, err error) {
	ReconcileDuration.WithLabelValues(controller).Observe(time.Since(start).Seconds())
	if err != nil {
		ReconcileErrors.WithLabelValues(controller).Inc()
	}
}
