package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Config tunes a Sampler; zero values take the defaults.
type Config struct {
	// Interval between passes (default 15s, at least 1s).
	Interval time.Duration
	// Retention of the usage series per tier (defaults: raw 1h, minute
	// buckets 24h, quarter buckets and gone workloads 7 days).
	Retention store.UsageRetention
	// Access bounds the log of reads (default 90 days, 1,000,000 rows).
	Access store.AccessRetention
	// Concurrency is how many kubelets are asked at once (default 4).
	Concurrency int
	// NodeTimeout bounds one kubelet's answer (default 10s).
	NodeTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Validate fills defaults and rejects a config that cannot work.
func (c *Config) Validate() error {
	if c.Interval == 0 {
		c.Interval = 15 * time.Second
	}
	if c.Interval < time.Second {
		return fmt.Errorf("monitor: sampling interval %s is below 1s", c.Interval)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.NodeTimeout <= 0 {
		c.NodeTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if err := c.Retention.Validate(); err != nil {
		return err
	}
	if c.Retention.Raw < 2*c.Interval {
		return fmt.Errorf("monitor: raw samples kept %s, less than two intervals of %s", c.Retention.Raw, c.Interval)
	}
	return c.Access.Validate()
}

// SummaryFunc reads one node's kubelet summary.
type SummaryFunc func(ctx context.Context, node string) (io.ReadCloser, error)

// Sampler measures every ferry workload each interval: it asks the kubelet
// of each node that runs ferry pods for its Summary API through the API
// server's node proxy (no metrics-server), sums the pods per ferry object
// and writes the series. It also explains waiting and failed pods from
// their state and Warning events (Explain).
type Sampler struct {
	DB     *store.DB
	Client kubernetes.Interface
	Log    *slog.Logger
	// Summary reads a node's summary (default: the API server's node proxy).
	Summary SummaryFunc

	cfg       Config
	pods      corelisters.PodLister
	events    cache.Indexer
	lastPrune time.Time
	mu        sync.Mutex
	last      passStats
}

// passStats is what the last pass did, for the metrics.
type passStats struct {
	at        time.Time
	duration  time.Duration
	workloads int
	nodes     int
	failed    int
}

// New returns a sampler; Start runs it.
func New(db *store.DB, client kubernetes.Interface, log *slog.Logger, cfg Config) (*Sampler, error) {
	if db == nil || log == nil {
		return nil, errors.New("monitor: store and logger are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sampler{DB: db, Client: client, Log: log, cfg: cfg}
	if client != nil {
		s.Summary = s.proxySummary
	}
	return s, nil
}

// Config is the sampler's configuration, defaults filled in.
func (s *Sampler) Config() Config { return s.cfg }

func (s *Sampler) proxySummary(ctx context.Context, node string) (io.ReadCloser, error) {
	return s.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy", "stats", "summary").Stream(ctx)
}

// eventIndex keys Warning events by the namespace/name of their object.
const eventIndex = "involvedObject"

// Start runs the informers (ferry's pods, Warning events) and a pass every
// interval until ctx ends. A failed pass is logged and the next one runs
// on time: a pass is a measurement, not a desired state to converge on.
func (s *Sampler) Start(ctx context.Context) error {
	if s.Client == nil {
		return errors.New("monitor: no Kubernetes client")
	}
	managed := informers.NewSharedInformerFactoryWithOptions(s.Client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = tenants.ManagedByLabel + "=" + tenants.ManagedBy }))
	warnings := informers.NewSharedInformerFactoryWithOptions(s.Client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "type=" + corev1.EventTypeWarning }))
	pods, events := managed.Core().V1().Pods(), warnings.Core().V1().Events()
	if err := events.Informer().AddIndexers(cache.Indexers{eventIndex: func(obj any) ([]string, error) {
		e, ok := obj.(*corev1.Event)
		if !ok {
			return nil, nil
		}
		return []string{e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name}, nil
	}}); err != nil {
		return err
	}
	s.pods, s.events = pods.Lister(), events.Informer().GetIndexer()
	managed.Start(ctx.Done())
	warnings.Start(ctx.Done())
	defer managed.Shutdown()
	defer warnings.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), pods.Informer().HasSynced, events.Informer().HasSynced) {
		return ctx.Err()
	}
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if err := s.Pass(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("usage pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass is one measurement: the pods from the informer, the summaries of
// their nodes, one write. Kubelets that do not answer are skipped (their
// pods count their requests, no use) and counted in the metrics.
func (s *Sampler) Pass(ctx context.Context) error {
	if s.pods == nil {
		return errors.New("monitor: pass before Start")
	}
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		return err
	}
	return s.PassOver(ctx, pods)
}

// PassOver is Pass over the given pods (tests hand them in).
func (s *Sampler) PassOver(ctx context.Context, pods []*corev1.Pod) error {
	start := s.cfg.Now()
	nodes := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName != "" && !ended(p) {
			if _, ok := WorkloadOf(p); ok {
				nodes[p.Spec.NodeName] = true
			}
		}
	}
	measured, failed := s.measure(ctx, nodes)
	samples := Samples(pods, measured)
	at := s.cfg.Now()
	err := s.DB.Write(ctx, func(tx *store.Tx) error {
		skipped, err := tx.RecordUsage(ctx, at, s.cfg.Interval, samples)
		if err != nil {
			return err
		}
		if skipped > 0 {
			s.Log.Debug("usage samples skipped", "count", skipped)
		}
		if at.Sub(s.lastPrune) < time.Minute {
			return nil
		}
		if _, err := tx.PruneUsage(ctx, at, s.cfg.Retention); err != nil {
			return err
		}
		_, err = tx.PruneAccess(ctx, at, s.cfg.Access)
		return err
	})
	if err != nil {
		return fmt.Errorf("record usage: %w", err)
	}
	if at.Sub(s.lastPrune) >= time.Minute {
		s.lastPrune = at
	}
	s.mu.Lock()
	s.last = passStats{at: at, duration: s.cfg.Now().Sub(start), workloads: len(samples), nodes: len(nodes), failed: failed}
	s.mu.Unlock()
	return nil
}

// measure asks the kubelets of the given nodes, a few at once, and returns
// the pods' use by UID and how many nodes failed.
func (s *Sampler) measure(ctx context.Context, nodes map[string]bool) (map[string]PodUsage, int) {
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	var mu sync.Mutex
	out := map[string]PodUsage{}
	failed := 0
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pods, err := s.nodeSummary(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				s.Log.Warn("kubelet summary unavailable", "node", n, "err", err)
				return
			}
			for _, p := range pods {
				out[p.UID] = p
			}
		}()
	}
	wg.Wait()
	return out, failed
}

func (s *Sampler) nodeSummary(ctx context.Context, node string) ([]PodUsage, error) {
	if s.Summary == nil {
		return nil, errors.New("no summary source")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.NodeTimeout)
	defer cancel()
	rc, err := s.Summary(ctx, node)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return ParseSummary(rc)
}
