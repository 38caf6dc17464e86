package controller

import (
	"errors"
	"time"
)

// Defaults of Options.
const (
	DefaultResync     = time.Minute
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = time.Minute
)

// Options tune a Loop or a Queue; zero values take the defaults.
type Options struct {
	// Resync is how long a loop waits after a successful sync before it
	// syncs again unasked (default DefaultResync).
	Resync time.Duration
	// Settle is how long a poked loop waits before it syncs, so that a
	// burst of events (a job's pods changing together) makes one sync
	// (default 0).
	Settle time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure: it starts
	// at MinBackoff and doubles with every failure in a row, up to
	// MaxBackoff; a success resets it. Defaults DefaultMinBackoff and
	// DefaultMaxBackoff; a Loop's default cap is no more than its Resync.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Workers is how many keys a Queue reconciles at once (default 1).
	Workers int
	// Clock times the waits of a Loop and the resync of a Queue (default
	// the real clock).
	Clock Clock
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	var errs []error
	if o.Resync < 0 || o.Settle < 0 || o.MinBackoff < 0 || o.MaxBackoff < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if o.MinBackoff > 0 && o.MaxBackoff > 0 && o.MinBackoff > o.MaxBackoff {
		errs = append(errs, errors.New("minimum backoff is above the maximum"))
	}
	if o.Workers < 0 {
		errs = append(errs, errors.New("workers must not be negative"))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Resync == 0 {
		o.Resync = DefaultResync
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
		if o.MaxBackoff > 0 {
			o.MinBackoff = min(o.MinBackoff, o.MaxBackoff)
		}
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Workers == 0 {
		o.Workers = 1
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	return o
}

// backoff is the wait after the n-th failure in a row (n ≥ 1).
func (o Options) backoff(n int) time.Duration {
	d := o.MinBackoff
	for i := 1; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// Clock makes timers; tests pass a fake one.
type Clock interface {
	NewTimer(d time.Duration) Timer
}

// Timer is the part of time.Timer a loop uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }
