package monitor

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferry-ml/ferry/store"
)

// Collector serves the platform's state as Prometheus gauges, read from
// the store at each scrape: jobs and notebooks by state per tenant, each
// tenant's quota, what its pods request and use, what is queued, and the
// sampler's last pass. Labels are tenants, states and resources only.
type Collector struct {
	ctx     context.Context
	db      *store.DB
	sampler *Sampler
	log     func(msg string, args ...any)

	jobs, notebooks                  *prometheus.Desc
	quota, requested, used           *prometheus.Desc
	queuedJobs, queuedReq            *prometheus.Desc
	lastPass, passSeconds, workloads *prometheus.Desc
	kubeletFailures, scrapeErrors    *prometheus.Desc

	// The last scrape's metrics, replayed for cacheFor: scrapes cost a read
	// of every tenant, and /metrics answers anyone.
	mu     sync.Mutex
	at     time.Time
	cached []prometheus.Metric
}

// cacheFor is how long one scrape's reading of the store is reused.
const cacheFor = 5 * time.Second

// MaxMetricTenants bounds the tenants one scrape reports.
const MaxMetricTenants = 10000

// NewCollector reads db (and s's last pass, when s is not nil) at each
// scrape; ctx bounds the reads (the server's context).
func NewCollector(ctx context.Context, db *store.DB, s *Sampler, log func(msg string, args ...any)) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{ctx: ctx, db: db, sampler: s, log: log,
		jobs:            d("ferry_jobs", "Jobs by tenant and state.", "tenant", "state"),
		notebooks:       d("ferry_notebooks", "Notebooks by tenant and state.", "tenant", "state"),
		quota:           d("ferry_tenant_quota", "A tenant's quota: cpu in cores, memory in bytes, gpu in devices.", "tenant", "resource"),
		requested:       d("ferry_tenant_requested", "What a tenant's pods that have not ended request, as last sampled (cores, bytes, devices).", "tenant", "resource"),
		used:            d("ferry_tenant_used", "What a tenant's pods used in the last sample: cpu in cores, memory working set in bytes, gpu in busy devices (duty cycle / 100).", "tenant", "resource"),
		queuedJobs:      d("ferry_tenant_queued_jobs", "A tenant's jobs waiting for admission.", "tenant"),
		queuedReq:       d("ferry_tenant_queued_requested", "What a tenant's queued jobs would request once admitted (cores, bytes, devices).", "tenant", "resource"),
		lastPass:        d("ferry_usage_last_sample_timestamp_seconds", "When the usage sampler last stored a pass (Unix seconds)."),
		passSeconds:     d("ferry_usage_sample_duration_seconds", "How long the sampler's last pass took (kubelets asked and stored)."),
		workloads:       d("ferry_usage_workloads", "Ferry objects measured in the sampler's last pass."),
		kubeletFailures: d("ferry_usage_kubelet_failures", "Kubelets that did not answer the sampler's last pass."),
		scrapeErrors:    d("ferry_metrics_store_errors", "1 when this scrape could not read the store."),
	}
}

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobs, c.notebooks, c.quota, c.requested, c.used, c.queuedJobs, c.queuedReq,
		c.lastPass, c.passSeconds, c.workloads, c.kubeletFailures, c.scrapeErrors} {
		ch <- d
	}
}

// Collect reads the store once (one read transaction, 5 s at most), or
// replays the reading of a scrape less than cacheFor ago.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= cacheFor {
		c.cached, c.at = c.collect(), time.Now()
	}
	for _, m := range c.cached {
		ch <- m
	}
}

func (c *Collector) collect() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	var out []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	err := c.db.Read(ctx, func(tx *store.Tx) error {
		jobs, err := tx.JobStateCounts(ctx)
		if err != nil {
			return err
		}
		for _, s := range jobs {
			gauge(c.jobs, float64(s.N), s.Tenant, s.State)
		}
		nbs, err := tx.NotebookStateCounts(ctx)
		if err != nil {
			return err
		}
		for _, s := range nbs {
			gauge(c.notebooks, float64(s.N), s.Tenant, s.State)
		}
		at, _, err := tx.UsageTick(ctx)
		if err != nil {
			return err
		}
		if !at.IsZero() {
			gauge(c.lastPass, float64(at.Unix()))
		}
		tenants, err := tx.ListTenants(ctx, 0, "", MaxMetricTenants)
		if err != nil {
			return err
		}
		for _, t := range tenants {
			var req, use store.UsageAmount
			if !at.IsZero() {
				if req, use, err = tx.TenantRequested(ctx, t.Name, at); err != nil {
					return err
				}
			}
			queued, err := tx.QueuedJobs(ctx, t.Name)
			if err != nil {
				return err
			}
			q, err := QuotaUse(t.Quota, req, queued)
			if err != nil {
				continue // a quota the store should never hold; the API says so
			}
			amounts := func(d *prometheus.Desc, a store.UsageAmount) {
				gauge(d, float64(a.CPU)/1e3, t.Name, "cpu")
				gauge(d, float64(a.Memory), t.Name, "memory")
				gauge(d, float64(a.GPU), t.Name, "gpu")
			}
			amounts(c.quota, q.Limit)
			amounts(c.requested, q.Requested)
			amounts(c.queuedReq, q.Queued)
			gauge(c.used, float64(use.CPU)/1e9, t.Name, "cpu")
			gauge(c.used, float64(use.Memory), t.Name, "memory")
			gauge(c.used, float64(use.GPU)/100, t.Name, "gpu")
			gauge(c.queuedJobs, float64(q.QueuedJobs), t.Name)
		}
		return nil
	})
	failed := 0.0
	if err != nil {
		failed = 1
		if c.log != nil {
			c.log("metrics: cannot read the store", "err", err)
		}
	}
	gauge(c.scrapeErrors, failed)
	if c.sampler != nil {
		c.sampler.mu.Lock()
		last := c.sampler.last
		c.sampler.mu.Unlock()
		if !last.at.IsZero() {
			gauge(c.passSeconds, last.duration.Seconds())
			gauge(c.workloads, float64(last.workloads))
			gauge(c.kubeletFailures, float64(last.failed))
		}
	}
	return out
}
