package action

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/bootstrap/install"
	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/internal/progress"
)

func TestStatusOfAMissingLocalClusterReportsItAndReadsNoPlatform(t *testing.T) {
	t.Parallel()
	var c calls
	var out bytes.Buffer
	cfg := fakeConfig(true, &c, &out)
	cfg.Target = fakeTarget{local: true, calls: &c, cluster: &kind.Status{Name: "dev"}}
	res, err := NewStatus(cfg).Run(context.Background())
	var nf *ClusterNotFoundError
	if !errors.As(err, &nf) || nf.Name != "dev" || err.Error() != "cluster dev does not exist; `ferry up` creates it" {
		t.Fatalf("Run: %v; want a ClusterNotFoundError", err)
	}
	if res == nil || res.Cluster == nil || res.Platform != nil {
		t.Errorf("result %+v: want the cluster only", res)
	}
	if !slices.Equal(c, calls{"cluster status"}) {
		t.Errorf("calls %q", c)
	}
}

func TestStatusOfAClusterWhoseAPIDoesNotAnswerIsAnError(t *testing.T) {
	t.Parallel()
	var c calls
	cfg := fakeConfig(true, &c, &bytes.Buffer{})
	cfg.Target = fakeTarget{calls: &c, cluster: &kind.Status{Name: "dev", Exists: true, Error: "connection refused"}}
	res, err := NewStatus(cfg).Run(context.Background())
	if err == nil || err.Error() != "cluster dev exists but its API does not answer: connection refused" || res == nil || res.Platform != nil {
		t.Fatalf("Run: %+v, %v", res, err)
	}
}

func TestStatusWithoutThePlatformReleaseIsErrNotInstalled(t *testing.T) {
	t.Parallel()
	var c calls
	res, err := NewStatus(fakeConfig(false, &c, &bytes.Buffer{})).Run(context.Background())
	if !errors.Is(err, ErrNotInstalled) || res == nil || res.Cluster != nil || res.Platform == nil || res.Platform.Context != "fake" {
		t.Fatalf("Run: %+v, %v", res, err)
	}
	if !slices.Equal(c, calls{"cluster status", "platform status context=fake"}) {
		t.Errorf("calls %q", c)
	}
}

func TestStatusOfAnInstalledPlatformSucceeds(t *testing.T) {
	t.Parallel()
	var c calls
	cfg := fakeConfig(false, &c, &bytes.Buffer{})
	cfg.ops.status = func(context.Context, platform.Target) (platform.Status, error) {
		return platform.Status{Releases: []install.Release{{Name: platform.PlatformRelease}}}, nil
	}
	if res, err := NewStatus(cfg).Run(context.Background()); err != nil || res.Platform == nil {
		t.Fatalf("Run: %+v, %v", res, err)
	}
}

func TestUninstallChecksTheTargetThenRemovesThePlatformThenForgetsTheLogin(t *testing.T) {
	t.Parallel()
	var c calls
	var out bytes.Buffer
	un := NewUninstall(fakeConfig(true, &c, &out))
	un.Timeout = time.Minute
	if err := un.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := calls{"check", "uninstall context=fake wait=1m0s", "forget fake"}
	if !slices.Equal(c, want) {
		t.Errorf("calls %q, want %q", c, want)
	}
	if lines := progressLines(out.String()); len(lines) != 1 || lines[0] != "platform removed in T" {
		t.Errorf("printed %q", lines)
	}
}

func TestUninstallOfAMissingClusterTouchesNothing(t *testing.T) {
	t.Parallel()
	var c calls
	cfg := fakeConfig(true, &c, &bytes.Buffer{})
	cfg.Target = fakeTarget{calls: &c, checked: errFake}
	if err := NewUninstall(cfg).Run(context.Background()); !errors.Is(err, errFake) {
		t.Fatalf("Run: %v", err)
	}
	if !slices.Equal(c, calls{"check"}) {
		t.Errorf("calls %q", c)
	}
}

func TestUninstallFailureKeepsTheLogin(t *testing.T) {
	t.Parallel()
	var c calls
	cfg := fakeConfig(false, &c, &bytes.Buffer{})
	cfg.ops.uninstall = func(context.Context, platform.Target, time.Duration, *progress.Printer) error { return errFake }
	if err := NewUninstall(cfg).Run(context.Background()); !errors.Is(err, errFake) {
		t.Fatalf("Run: %v", err)
	}
	if slices.Contains(c, "forget fake") {
		t.Errorf("forgot the login after a failed uninstall: %q", c)
	}
}
