package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/bootstrap/airgap"
	"github.com/ferry-ml/ferry/bootstrap/doctor"
	"github.com/ferry-ml/ferry/bootstrap/install"
	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/internal/kubeclient"
	"github.com/ferry-ml/ferry/internal/progress"
)

// Configuration is what every action shares.
type Configuration struct {
	// Target is the cluster the actions work on.
	Target Target
	// KubeClient makes a clientset for a kubeconfig and a context
	// (default: kubeclient.New).
	KubeClient func(kubeconfig, context string) (kubernetes.Interface, error)
	// Printer reports each step and its duration (default: discarded).
	Printer *progress.Printer
	// Version is this executable's version; it tags the platform image.
	Version string
	// Logins keeps the CLI's logins; nil leaves them alone (Up then only
	// returns the URL and the token).
	Logins Logins
	// Out receives the long output of tools (a node image build);
	// default: discarded.
	Out io.Writer

	ops ops
}

// Logins is the CLI's store of server logins.
type Logins interface {
	// Login checks a token against a server and stores it as a context.
	Login(ctx context.Context, context string, a Access) error
	// Forget removes a context's login, if there is one.
	Forget(context string) error
}

// Access is how a CLI reaches an installed platform.
type Access struct {
	// Server is the control plane's URL, Token the admin token.
	Server, Token string
	// Gateway is the serving gateway's URL ("" when it is not reachable
	// from here).
	Gateway string
}

// defaults fills what was left empty.
func (c *Configuration) defaults() error {
	if c.Target == nil {
		return errors.New("action: no target")
	}
	if c.KubeClient == nil {
		c.KubeClient = kubeclient.New
	}
	if c.Printer == nil {
		c.Printer = progress.New(io.Discard)
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.ops.install == nil {
		c.ops = realOps
	}
	return nil
}

// platformTarget is the target as bootstrap/platform takes it, with the
// configuration's client constructor.
func (c *Configuration) platformTarget() platform.Target {
	t := c.Target.Platform()
	t.NewClient = c.KubeClient
	return t
}

// step is one named part of an action.
type step struct {
	name string // stable, for tests
	// title is the progress line printed with the step's duration; nil for
	// a step that prints its own (it runs the steps of kind or platform).
	title func() string
	run   func(ctx context.Context) error
}

// runSteps runs the steps in order and stops at the first failure.
func (c *Configuration) runSteps(ctx context.Context, steps []step) error {
	for _, s := range steps {
		if s.title == nil {
			if err := s.run(ctx); err != nil {
				return err
			}
			continue
		}
		if err := c.Printer.Step(s.title(), func() error { return s.run(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

// ops are the calls the actions make into the other bootstrap packages;
// tests replace them.
type ops struct {
	openBundle     func(p *progress.Printer, file, dir string) (*bundle.Dir, error)
	push           func(ctx context.Context, d *bundle.Dir, registry string, imgs ...bundle.ImageInfo) ([]bundle.Pushed, error)
	install        func(ctx context.Context, o platform.Options, p *progress.Printer) (platform.Result, error)
	seed           func(ctx context.Context, o platform.Options, d *bundle.Dir, res platform.Result, p *progress.Printer) error
	installNetwork func(ctx context.Context, o platform.Options, p *progress.Printer) (install.Result, error)
	uninstall      func(ctx context.Context, t platform.Target, timeout time.Duration, p *progress.Printer) error
	status         func(ctx context.Context, t platform.Target) (platform.Status, error)
}

var realOps = ops{
	openBundle: openBundle,
	push: func(ctx context.Context, d *bundle.Dir, registry string, imgs ...bundle.ImageInfo) ([]bundle.Pushed, error) {
		return d.Push(ctx, registry, imgs...)
	},
	install:        platform.Install,
	seed:           platform.Seed,
	installNetwork: platform.InstallNetwork,
	uninstall:      platform.Uninstall,
	status:         platform.GetStatus,
}

// openBundle verifies and extracts a bundle and checks that it belongs to
// this executable.
func openBundle(p *progress.Printer, file, dir string) (*bundle.Dir, error) {
	start, last := time.Now(), time.Now()
	d, err := bundle.Extract(file, dir, func(n int64) {
		if time.Since(last) >= 5*time.Second {
			last = time.Now()
			p.Printf("  %s read, %s", bundle.MiB(n), bundle.Rate(n, time.Since(start)))
		}
	})
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return d, err
	}
	return d, airgap.CheckBinary(d, exe)
}

// HostError is a host that cannot run a local cluster: its failed checks.
type HostError struct {
	Checks []doctor.Check
}

func (e *HostError) Error() string {
	return "the host cannot run a local cluster; fix the failures above (ferry doctor)"
}

// ClusterNotFoundError is a local cluster that does not exist.
type ClusterNotFoundError struct {
	Name string
}

func (e *ClusterNotFoundError) Error() string {
	return fmt.Sprintf("cluster %s does not exist; `ferry up` creates it", e.Name)
}

// ErrNotInstalled is a cluster without the platform release.
var ErrNotInstalled = errors.New("the platform is not installed; `ferry up` installs it")
