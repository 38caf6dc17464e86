package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/util/workqueue"

	"github.com/ferry-ml/ferry/runtime/metrics"
)

// Queue reconciles keys one at a time each (a key is never reconciled by
// two workers at once): a key is queued by Enqueue (repeats while it waits
// make one reconcile), by the periodic resync over List, and after a failed
// reconcile with that key's own exponential backoff, capped at MaxBackoff
// and reset by a success.
type Queue[K comparable] struct {
	name      string
	reconcile func(ctx context.Context, key K) error
	list      func(ctx context.Context) ([]K, error)
	log       *slog.Logger
	opts      Options
	q         workqueue.TypedRateLimitingInterface[K]
	resync    *Loop
}

// NewQueue returns a queue ready to Enqueue to and Start (once). list, if
// not nil, gives every key to reconcile at each resync; the keys it returns
// are queued even when it also returns an error (which is retried with
// backoff).
func NewQueue[K comparable](name string, reconcile func(context.Context, K) error, list func(context.Context) ([]K, error), log *slog.Logger, opts Options) *Queue[K] {
	d := opts.withDefaults()
	q := &Queue[K]{name: name, reconcile: reconcile, list: list, log: log, opts: opts,
		q: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.NewTypedItemExponentialFailureRateLimiter[K](d.MinBackoff, d.MaxBackoff),
			workqueue.TypedRateLimitingQueueConfig[K]{Name: name})}
	// A failed resync is tried again sooner, never later, than a successful one.
	maxWait := min(d.MaxBackoff, d.Resync)
	q.resync = &Loop{Name: name + " resync", Sync: q.enqueueListed, Log: log,
		Options: Options{Resync: d.Resync, MinBackoff: min(d.MinBackoff, maxWait), MaxBackoff: maxWait, Clock: opts.Clock}}
	return q
}

// Enqueue asks for key to be reconciled.
func (q *Queue[K]) Enqueue(key K) { q.q.Add(key) }

// Start runs the resync and the workers until ctx ends.
func (q *Queue[K]) Start(ctx context.Context) error {
	defer q.q.ShutDown()
	if q.reconcile == nil || q.log == nil {
		return fmt.Errorf("queue %s: %w", q.name, errors.New("reconcile and log are required"))
	}
	if err := q.opts.Validate(); err != nil {
		return fmt.Errorf("queue %s: %w", q.name, err)
	}
	g, ctx := errgroup.WithContext(ctx)
	if q.list != nil {
		g.Go(func() error { return q.resync.Start(ctx) })
	}
	for range q.opts.withDefaults().Workers {
		g.Go(func() error { q.work(ctx); return nil })
	}
	g.Go(func() error { <-ctx.Done(); q.q.ShutDown(); return nil })
	return g.Wait()
}

func (q *Queue[K]) enqueueListed(ctx context.Context) error {
	keys, err := q.list(ctx)
	for _, k := range keys {
		q.q.Add(k)
	}
	return err
}

func (q *Queue[K]) work(ctx context.Context) {
	for {
		key, shutdown := q.q.Get()
		if shutdown {
			return
		}
		start := time.Now()
		err := q.reconcile(ctx, key)
		if ctx.Err() == nil {
			metrics.Reconciled(q.name, start, err)
		}
		switch {
		case err == nil:
			q.q.Forget(key)
		case ctx.Err() != nil:
			// Stopping: the error is the cancellation's.
		default:
			q.log.Error("reconcile failed", "queue", q.name, "key", key, "err", err, "retries", q.q.NumRequeues(key))
			q.q.AddRateLimited(key)
		}
		q.q.Done(key)
	}
}
