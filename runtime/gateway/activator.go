package gateway

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrQueueFull and ErrHoldTimeout are why the activator answers 503.
var (
	ErrQueueFull   = errors.New("too many requests are waiting for this revision to start")
	ErrHoldTimeout = errors.New("the revision did not become ready in time")
)

// activator holds requests for revisions without a ready replica: each
// waits until the routing table shows the revision ready (Wake), its
// context ends, or Timeout passes; at most Max wait per revision.
type activator struct {
	Max     int
	Timeout time.Duration
	mu      sync.Mutex
	waiting map[string]int
	wake    chan struct{}
}

func newActivator(max int, timeout time.Duration) *activator {
	return &activator{Max: max, Timeout: timeout, waiting: map[string]int{}, wake: make(chan struct{})}
}

// Wake releases every waiter to check its revision again (the table changed).
func (a *activator) Wake() {
	a.mu.Lock()
	close(a.wake)
	a.wake = make(chan struct{})
	a.mu.Unlock()
}

// Waiting is how many requests wait for a revision.
func (a *activator) Waiting(rev string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.waiting[rev]
}

// Held says whether any request waits (for any revision).
func (a *activator) Held() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.waiting) > 0
}

// Hold waits until ready() is true; onHeld is called once the request is queued.
func (a *activator) Hold(ctx context.Context, rev string, ready func() bool, onHeld func()) error {
	a.mu.Lock()
	if a.waiting[rev] >= a.Max {
		a.mu.Unlock()
		return ErrQueueFull
	}
	a.waiting[rev]++
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.waiting[rev]--; a.waiting[rev] <= 0 {
			delete(a.waiting, rev)
		}
		a.mu.Unlock()
	}()
	if onHeld != nil {
		onHeld()
	}
	timer := time.NewTimer(a.Timeout)
	defer timer.Stop()
	for {
		a.mu.Lock()
		wake := a.wake
		a.mu.Unlock()
		if ready() {
			return nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return ErrHoldTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
