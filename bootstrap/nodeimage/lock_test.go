package nodeimage

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockMakesASecondHolderWaitUntilTheFirstReleases(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "cache", "rootfs-x.lock")
	unlockFirst, err := Lock(ctx, path, func() { t.Error("the first holder had to wait for a free lock") })
	if err != nil {
		t.Fatal(err)
	}
	waited, acquired := make(chan struct{}), make(chan error, 1)
	go func() {
		unlock, err := Lock(ctx, path, func() { close(waited) })
		if err == nil {
			err = unlock()
		}
		acquired <- err
	}()
	select {
	case <-waited:
	case err := <-acquired:
		t.Fatalf("the second holder got the lock while the first held it (err %v)", err)
	case <-ctx.Done():
		t.Fatal("the second holder neither waited nor got the lock")
	}
	select {
	case err := <-acquired:
		t.Fatalf("the second holder got the lock while the first held it (err %v)", err)
	default:
	}
	if err := unlockFirst(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatalf("second holder: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the second holder did not get the lock after the first released it")
	}
}

func TestLockHoldersNeverOverlap(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "work.lock")
	var inside, entered atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := Lock(ctx, path, nil)
			if err != nil {
				t.Error(err)
				return
			}
			if n := inside.Add(1); n != 1 {
				t.Errorf("%d holders inside at once", n)
			}
			entered.Add(1)
			inside.Add(-1)
			if err := unlock(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if entered.Load() != 4 {
		t.Fatalf("%d of 4 holders got the lock", entered.Load())
	}
}

func TestLockWaitEndsWithItsContext(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bin.lock")
	unlock, err := Lock(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err = Lock(ctx, path, cancel) // give up as soon as it has to wait
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock on a held file with a cancelled context = %v, want context.Canceled", err)
	}
}
