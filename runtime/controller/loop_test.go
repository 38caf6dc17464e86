package controller

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs l in the background; the returned func stops it and returns
// Start's error, failing the test if it does not return promptly.
func start(t *testing.T, l interface{ Start(context.Context) error }) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Start(ctx) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Start did not return after its context ended")
			return nil
		}
	})
	t.Cleanup(func() { _ = stop() })
	return stop
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLoopSyncsAtStartAndAgainEveryResync(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var n atomic.Int32
	l := &Loop{Name: "t", Log: discard(), Options: Options{Resync: time.Hour, Clock: clk},
		Sync: func(context.Context) error { n.Add(1); return nil }}
	start(t, l)
	for i := int32(1); i <= 3; i++ {
		if d := clk.next(t); d != time.Hour {
			t.Fatalf("wait after sync %d = %v, want the resync period", i, d)
		}
		if got := n.Load(); got != i {
			t.Fatalf("%d syncs before the resync period passed, want %d", got, i)
		}
		clk.Step(time.Hour)
	}
	waitUntil(t, "the fourth sync", func() bool { return n.Load() == 4 })
}

func TestLoopCoalescesPokesIntoOneSyncAfterTheSettleTime(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var n atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	l := &Loop{Name: "t", Log: discard(), Options: Options{Resync: time.Hour, Settle: 200 * time.Millisecond, Clock: clk},
		Sync: func(context.Context) error {
			if n.Add(1) == 1 {
				close(entered)
				<-release
			}
			return nil
		}}
	l.Poke() // before Start: answered by the first sync, not by a second one
	start(t, l)
	<-entered
	for range 10 {
		l.Poke() // during the first sync: one more sync, not ten
	}
	close(release)
	if d := clk.next(t); d != time.Hour {
		t.Fatalf("first wait %v, want the resync period", d)
	}
	if d := clk.next(t); d != 200*time.Millisecond {
		t.Fatalf("a poked loop waited %v, want the settle time", d)
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("synced %d times before the settle time passed", got)
	}
	clk.Step(200 * time.Millisecond)
	if d := clk.next(t); d != time.Hour {
		t.Fatalf("after the poked sync the loop waits %v, want the resync period", d)
	}
	if got, pending := n.Load(), len(l.wake); got != 2 || pending != 0 {
		t.Fatalf("ten pokes during a sync made %d syncs in all (%d pokes pending), want 2 and none", got, pending)
	}
}

func TestLoopBacksOffExponentiallyUpToTheCapAndResetsAfterASuccess(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	results := []error{errors.New("1"), errors.New("2"), errors.New("3"), errors.New("4"), nil, errors.New("6")}
	var n atomic.Int32
	var logs syncBuffer
	l := &Loop{Name: "t", Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Options: Options{Resync: time.Hour, MinBackoff: time.Second, MaxBackoff: 3 * time.Second, Clock: clk},
		Sync: func(context.Context) error {
			i := n.Add(1) - 1
			if int(i) < len(results) {
				return results[i]
			}
			return nil
		}}
	start(t, l)
	var got []time.Duration
	for range results {
		d := clk.next(t)
		got = append(got, d)
		clk.Step(d)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, time.Hour, time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("waits after each sync = %v, want %v", got, want)
	}
	if c := strings.Count(logs.String(), `msg="sync failed"`); c != 5 {
		t.Errorf("%d failures logged, want 5:\n%s", c, logs.String())
	}
}

func TestLoopBacksOffNoLongerThanItsResyncByDefault(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := &Loop{Name: "t", Log: discard(), Options: Options{Resync: time.Second, Clock: clk},
		Sync: func(context.Context) error { return errors.New("down") }}
	start(t, l)
	var got []time.Duration
	for range 6 {
		d := clk.next(t)
		got = append(got, d)
		clk.Step(d)
	}
	ms := time.Millisecond
	if want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}; !slices.Equal(got, want) {
		t.Fatalf("waits after failed syncs = %v, want %v", got, want)
	}
}

func TestLoopStopsWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	t.Run("while waiting", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		l := &Loop{Name: "t", Log: discard(), Options: Options{Clock: clk}, Sync: func(context.Context) error { return nil }}
		stop := start(t, l)
		clk.next(t)
		if err := stop(); err != nil {
			t.Fatalf("Start = %v, want nil on a clean stop", err)
		}
	})
	t.Run("while syncing", func(t *testing.T) {
		t.Parallel()
		var logs syncBuffer
		entered := make(chan struct{})
		l := &Loop{Name: "t", Log: slog.New(slog.NewTextHandler(&logs, nil)),
			Sync: func(ctx context.Context) error { close(entered); <-ctx.Done(); return ctx.Err() }}
		stop := start(t, l)
		<-entered
		if err := stop(); err != nil {
			t.Fatalf("Start = %v, want nil on a clean stop", err)
		}
		if logs.String() != "" {
			t.Errorf("the cancelled sync was logged as a failure:\n%s", logs.String())
		}
	})
}

func TestLoopRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for name, l := range map[string]*Loop{
		"no sync":         {Log: discard()},
		"negative resync": {Log: discard(), Sync: func(context.Context) error { return nil }, Options: Options{Resync: -1}},
		"min above max": {Log: discard(), Sync: func(context.Context) error { return nil },
			Options: Options{MinBackoff: time.Minute, MaxBackoff: time.Second}},
	} {
		if err := l.Start(t.Context()); err == nil {
			t.Errorf("%s: Start accepted it", name)
		}
	}
}

func TestBackoffDefaultsStayWithinAGivenCap(t *testing.T) {
	t.Parallel()
	o := Options{MaxBackoff: 10 * time.Millisecond}.withDefaults()
	if o.MinBackoff != 10*time.Millisecond || o.backoff(1) != 10*time.Millisecond || o.backoff(100) != 10*time.Millisecond {
		t.Errorf("min %v, first %v, hundredth %v; want all 10ms", o.MinBackoff, o.backoff(1), o.backoff(100))
	}
	o = Options{}.withDefaults()
	if o.backoff(1) != DefaultMinBackoff || o.backoff(1000) != DefaultMaxBackoff {
		t.Errorf("defaults: first %v, thousandth %v", o.backoff(1), o.backoff(1000))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
