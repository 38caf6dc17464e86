package controller

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// calls records reconciles per key, with the key's requeue count at the time.
type calls struct {
	mu      sync.Mutex
	retries map[string][]int
}

func (c *calls) add(key string, retries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.retries == nil {
		c.retries = map[string][]int{}
	}
	c.retries[key] = append(c.retries[key], retries)
}

func (c *calls) of(key string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.retries[key])
}

func TestQueueRetriesAFailingKeyWithGrowingBackoffWhileOthersGoOn(t *testing.T) {
	t.Parallel()
	var rec calls
	var q *Queue[string]
	q = NewQueue("t", func(_ context.Context, key string) error {
		rec.add(key, q.q.NumRequeues(key))
		if key == "bad" && len(rec.of(key)) <= 3 {
			return errors.New("not yet")
		}
		return nil
	}, nil, discard(), Options{MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, Workers: 2})
	q.Enqueue("bad")
	q.Enqueue("good")
	q.Enqueue("good") // while it waits: one reconcile
	start(t, q)
	waitUntil(t, "bad to succeed", func() bool { return len(rec.of("bad")) == 4 })
	if got := rec.of("bad"); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("requeues seen by each reconcile of the failing key = %v, want 0 1 2 3 (each retry one step further back)", got)
	}
	waitUntil(t, "a success to reset the key's backoff", func() bool { return q.q.NumRequeues("bad") == 0 })
	if got := rec.of("good"); len(got) != 1 {
		t.Errorf("good reconciled %d times, want once", len(got))
	}
}

func TestQueueResyncReconcilesEveryListedKey(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var rec calls
	q := NewQueue("t", func(_ context.Context, key string) error { rec.add(key, 0); return nil },
		func(context.Context) ([]string, error) { return []string{"x", "y"}, nil },
		discard(), Options{Resync: time.Hour, Clock: clk})
	start(t, q)
	both := func(n int) func() bool {
		return func() bool { return len(rec.of("x")) == n && len(rec.of("y")) == n }
	}
	waitUntil(t, "the first resync", both(1))
	if d := clk.next(t); d != time.Hour {
		t.Fatalf("resync waits %v, want an hour", d)
	}
	clk.Step(time.Hour)
	waitUntil(t, "the second resync", both(2))
}

func TestQueueQueuesWhatListGaveEvenWhenItFailed(t *testing.T) {
	t.Parallel()
	var rec calls
	q := NewQueue("t", func(_ context.Context, key string) error { rec.add(key, 0); return nil },
		func(context.Context) ([]string, error) {
			return []string{"from-store"}, errors.New("cluster unreachable")
		},
		discard(), Options{})
	start(t, q)
	waitUntil(t, "the listed key", func() bool { return len(rec.of("from-store")) > 0 })
}

func TestQueueStopsWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	q := NewQueue("t", func(ctx context.Context, _ string) error { close(entered); <-ctx.Done(); return ctx.Err() },
		nil, discard(), Options{})
	q.Enqueue("k")
	stop := start(t, q)
	<-entered
	if err := stop(); err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
}
