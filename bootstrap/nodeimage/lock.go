package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockPoll is how often a waiting Lock tries again.
const lockPoll = 200 * time.Millisecond

// Lock takes an exclusive flock(2) on path (created if missing), so that two
// builds on one machine (two `ferry up`, or a `ferry up` and a `make
// node-image`) never write one cache folder at once. It waits until the lock
// is free or ctx ends; waiting, if not nil, is called once when it has to
// wait. The lock dies with the process, so a killed build never leaves it
// held. The returned func releases it.
func Lock(ctx context.Context, path string, waiting func()) (unlock func() error, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	var tick *time.Ticker
	for {
		busy, err := tryLock(f)
		if err == nil && !busy {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if tick == nil {
			tick = time.NewTicker(lockPoll)
			defer tick.Stop()
			if waiting != nil {
				waiting()
			}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
	return func() error {
		return errors.Join(unlockFile(f), f.Close())
	}, nil
}

// locked runs fn holding the lock path, printing a line if another build
// holds it first.
func (b *builder) locked(ctx context.Context, path string, fn func() error) (err error) {
	unlock, err := Lock(ctx, path, func() {
		b.p.Printf("  waiting for another build to release %s", path)
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, unlock()) }()
	return fn()
}
