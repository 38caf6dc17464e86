package controller

import (
	"sync"
	"testing"
	"time"
)

// fakeClock hands out timers that fire only when the test steps the clock,
// and reports each timer's duration on asked, in the order the loop asks.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*fakeTimer
	asked  chan time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{asked: make(chan time.Duration, 100)} }

type fakeTimer struct {
	c       chan time.Time
	at      time.Duration
	stopped bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.now + d}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.asked <- d
	return t
}

// Step moves the clock on by d, firing the timers that come due.
func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now += d
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at <= c.now {
			t.c <- time.Unix(0, 0).Add(t.at)
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// next is the duration of the next timer the loop makes, within a deadline.
func (c *fakeClock) next(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.asked:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the loop to start a timer")
		return 0
	}
}
