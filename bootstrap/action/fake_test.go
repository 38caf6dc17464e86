package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/ferry-ml/ferry/bootstrap/gpuhost"
	"github.com/ferry-ml/ferry/bootstrap/install"
	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/internal/progress"
)

// calls records, in order, what the fakes were asked to do.
type calls []string

func (c *calls) add(format string, args ...any) { *c = append(*c, fmt.Sprintf(format, args...)) }

// fakeTarget is a target that records what the actions ask of it; local
// says whether it loads a bundle's images into its nodes and installs a pod
// network, as a kind cluster does.
type fakeTarget struct {
	local   bool
	calls   *calls
	checked error        // what Check returns
	cluster *kind.Status // what ClusterStatus returns
}

func (f fakeTarget) Platform() platform.Target {
	return platform.Target{Kubeconfig: "/fake", Context: "fake"}
}
func (f fakeTarget) ContextName() string { return "fake" }
func (f fakeTarget) CheckUp(*Up) error   { return nil }
func (f fakeTarget) LoadsImages() bool   { return f.local }

func (f fakeTarget) PlanGPUs(context.Context, platform.GPUMode, int) (*gpuhost.Plan, error) {
	return nil, nil
}
func (f fakeTarget) ClusterConfig(workers int, _ [][]v1alpha4.Mount) ([]byte, error) {
	return fmt.Appendf(nil, "workers: %d\n", workers), nil
}

func (f fakeTarget) EnsureCluster(ctx context.Context, s ClusterSpec) error {
	f.calls.add("cluster workers=%d bundle=%t loadImages=%t", s.Workers, s.Bundle != nil, s.LoadImages)
	if f.local {
		return s.Network(ctx)
	}
	return nil
}

func (f fakeTarget) Check(context.Context) error {
	f.calls.add("check")
	return f.checked
}

func (f fakeTarget) ClusterStatus(context.Context) (*kind.Status, error) {
	f.calls.add("cluster status")
	return f.cluster, nil
}

type fakeLogins struct{ calls *calls }

func (f fakeLogins) Login(_ context.Context, name string, a Access) error {
	f.calls.add("login %s %s %s", name, a.Server, a.Token)
	return nil
}

func (f fakeLogins) Forget(name string) error {
	f.calls.add("forget %s", name)
	return nil
}

// fakeOps stand in for bootstrap/platform and the bundle: the bundle has a
// node image and one other image.
func fakeOps(c *calls) ops {
	return ops{
		openBundle: func(_ *progress.Printer, file, dir string) (*bundle.Dir, error) {
			c.add("open bundle %s into %s", file, filepath.Base(dir))
			return &bundle.Dir{Path: dir, Manifest: &bundle.Manifest{Images: []bundle.ImageInfo{
				{Ref: "ferry/node:v1", Role: bundle.RoleNode}, {Ref: "ferry.local/ferry:v1", Role: bundle.RolePlatform},
			}}}, nil
		},
		push: func(_ context.Context, _ *bundle.Dir, registry string, imgs ...bundle.ImageInfo) ([]bundle.Pushed, error) {
			c.add("push %d to %s", len(imgs), registry)
			return []bundle.Pushed{{Ref: imgs[0].Ref, Repository: registry + "/ferry", Digest: "sha256:1"}}, nil
		},
		install: func(_ context.Context, o platform.Options, _ *progress.Printer) (platform.Result, error) {
			c.add("install context=%s seed=%t registry=%d gpu=%s", o.Context, o.Seed, len(o.Registry), o.GPU)
			return platform.Result{Context: o.Context, URL: "http://10.0.0.1:30080", Token: "tok"}, nil
		},
		seed: func(_ context.Context, _ platform.Options, d *bundle.Dir, res platform.Result, _ *progress.Printer) error {
			c.add("seed %d image(s) via %s", len(d.Manifest.Images)-1, res.URL)
			return nil
		},
		installNetwork: func(_ context.Context, o platform.Options, _ *progress.Printer) (install.Result, error) {
			c.add("network context=%s", o.Context)
			return install.Result{}, nil
		},
		uninstall: func(_ context.Context, t platform.Target, timeout time.Duration, _ *progress.Printer) error {
			c.add("uninstall context=%s wait=%s", t.Context, timeout)
			return nil
		},
		status: func(_ context.Context, t platform.Target) (platform.Status, error) {
			c.add("platform status context=%s", t.Context)
			return platform.Status{Context: t.Context}, nil
		},
	}
}

// fakeConfig is a configuration on a fake target, with fake operations,
// printing to out.
func fakeConfig(local bool, c *calls, out *bytes.Buffer) *Configuration {
	return &Configuration{
		Target:  fakeTarget{local: local, calls: c},
		Printer: progress.New(out),
		Version: "v0.0.0-test",
		Logins:  fakeLogins{calls: c},
		ops:     fakeOps(c),
	}
}

var errFake = errors.New("fake failure")
