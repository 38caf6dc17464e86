package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/runtime/metrics"
)

// Loop runs Sync, a level-based pass over everything a controller owns:
// once at Start, again soon after every Poke (pokes that come while it
// waits or syncs make one sync), every Resync after a success, and after a
// failure with exponential backoff capped at MaxBackoff (by default at
// Resync). A Poke wakes it
// also while it backs off: an event may be what fixes the failure, and the
// failure count stays until a sync succeeds. A Loop is ready to use
// without a constructor; Start it once.
type Loop struct {
	// Name tells the loop's log lines apart.
	Name string
	// Sync is one pass; it gets Start's context.
	Sync func(ctx context.Context) error
	// Log gets failed syncs.
	Log *slog.Logger
	Options

	once sync.Once
	wake chan struct{}
}

func (l *Loop) wakeup() chan struct{} {
	l.once.Do(func() { l.wake = make(chan struct{}, 1) })
	return l.wake
}

// Poke asks for a sync soon; it never blocks.
func (l *Loop) Poke() {
	select {
	case l.wakeup() <- struct{}{}:
	default:
	}
}

// Start syncs until ctx ends, then returns nil once the running sync (if
// any) has returned.
func (l *Loop) Start(ctx context.Context) error {
	if l.Sync == nil || l.Log == nil {
		return fmt.Errorf("loop %s: %w", l.Name, errors.New("sync and log are required"))
	}
	if err := l.Validate(); err != nil {
		return fmt.Errorf("loop %s: %w", l.Name, err)
	}
	o, wake := l.withDefaults(), l.wakeup()
	if l.MaxBackoff == 0 {
		// A failed sync is tried again sooner, never later, than a
		// successful one, unless asked otherwise.
		o.MaxBackoff = min(o.MaxBackoff, o.Resync)
		o.MinBackoff = min(o.MinBackoff, o.MaxBackoff)
	}
	failures := 0
	for {
		// A poke from before this sync is answered by it.
		select {
		case <-wake:
		default:
		}
		start := time.Now()
		err := l.Sync(ctx)
		if ctx.Err() != nil {
			return nil
		}
		metrics.Reconciled(l.Name, start, err)
		wait := o.Resync
		if err != nil {
			failures++
			wait = o.backoff(failures)
			l.Log.Error("sync failed", "loop", l.Name, "err", err, "failures", failures, "retryIn", wait)
		} else {
			failures = 0
		}
		if !l.wait(ctx, o, wait) {
			return nil
		}
	}
}

// wait returns after d, or after a poke and the settle time; false when ctx
// ends first.
func (l *Loop) wait(ctx context.Context, o Options, d time.Duration) bool {
	t := o.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	case <-l.wake:
	}
	if o.Settle <= 0 {
		return true
	}
	s := o.Clock.NewTimer(o.Settle)
	defer s.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-s.C():
		return true
	}
}
