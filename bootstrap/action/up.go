package action

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/bundle"
)

// Up makes the target's cluster ready, installs or upgrades the platform,
// and logs the CLI in. With nothing changed, a second Up only checks.
type Up struct {
	cfg *Configuration

	// Workers, NodeImage and Mirror shape a local cluster.
	Workers   int
	NodeImage string
	Mirror    string
	// LocalFlags are the flags given that shape a local cluster ("name",
	// "workers", "node-image"): a remote target refuses them, and a bundle
	// refuses "node-image" (it carries the node image).
	LocalFlags []string
	// Wait bounds the wait for the cluster and for each release.
	Wait time.Duration
	// DryRun returns the cluster's kind configuration and does nothing.
	DryRun bool
	// Platform installs the control plane; false stops after the cluster.
	Platform bool
	// GPU is off, auto, nvidia, fake or fake:N.
	GPU string
	// Bundle is an air-gap bundle (ferry bundle create) that every image
	// comes from; Registry, with a bundle, is where its images are pushed
	// and the charts pull them from.
	Bundle, Registry string

	gpu platform.GPUMode
}

// UpResult is what Up did.
type UpResult struct {
	// ClusterConfig is the kind configuration of a dry run.
	ClusterConfig []byte
	// Platform is how to reach the platform; nil when it was not installed.
	Platform *platform.Result
}

// NewUp returns an Up with the CLI's defaults.
func NewUp(cfg *Configuration) *Up {
	return &Up{cfg: cfg, Wait: 5 * time.Minute, Platform: true, GPU: platform.GPUAuto}
}

// Validate refuses settings that do not go together.
func (u *Up) Validate() error {
	if err := u.cfg.defaults(); err != nil {
		return err
	}
	mode, err := platform.ParseGPUMode(u.GPU)
	if err != nil {
		return err
	}
	u.gpu = mode
	if u.Registry != "" && u.Bundle == "" {
		return errors.New("--registry needs --bundle: it pushes the bundle's images to that registry")
	}
	if u.Workers < 0 {
		return fmt.Errorf("--workers %d: must be 0 or more", u.Workers)
	}
	if u.DryRun {
		return nil // a dry run prints the cluster configuration whatever comes with it
	}
	if err := u.cfg.Target.CheckUp(u); err != nil {
		return err
	}
	if u.Bundle != "" && slices.Contains(u.LocalFlags, "node-image") {
		return errors.New("--node-image does not go with --bundle: the bundle carries the node image")
	}
	return nil
}

// Run validates and runs the steps in order.
func (u *Up) Run(ctx context.Context) (*UpResult, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if u.DryRun {
		plan, err := u.cfg.Target.PlanGPUs(ctx, u.gpu, u.Workers)
		if err != nil {
			return nil, err
		}
		var mounts [][]v1alpha4.Mount
		if plan != nil {
			mounts = plan.Mounts
		}
		y, err := u.cfg.Target.ClusterConfig(u.Workers, mounts)
		if err != nil {
			return nil, err
		}
		return &UpResult{ClusterConfig: y}, nil
	}
	r := u.newRun()
	defer r.cleanup()
	if err := u.cfg.runSteps(ctx, r.steps()); err != nil {
		return nil, err
	}
	p := u.cfg.Printer
	if !u.Platform {
		p.Printf("cluster ready in %s (platform not installed: --platform=false): kubectl --context %s get nodes", p.Elapsed(), r.opts.Context)
		return &UpResult{}, nil
	}
	p.Printf("ferry is up in %s", p.Elapsed())
	return &UpResult{Platform: &r.res}, nil
}

// upRun is one run of Up: what its steps hand on to the next ones.
type upRun struct {
	*Up
	tmp    string      // where the bundle is extracted
	bundle *bundle.Dir // nil without one
	opts   platform.Options
	res    platform.Result
}

func (u *Up) newRun() *upRun {
	r := &upRun{Up: u}
	r.opts = platform.Options{Target: u.cfg.platformTarget(), Version: u.cfg.Version, Timeout: u.Wait, GPU: u.gpu, Seed: r.seeds()}
	return r
}

// seeds says whether the bundle's images go through the platform's seed
// agents: a bundle, no registry, and a target that cannot load them itself.
func (r *upRun) seeds() bool {
	return r.Bundle != "" && r.Registry == "" && !r.cfg.Target.LoadsImages()
}

// steps are Up's steps, in order, for its settings.
func (r *upRun) steps() []step {
	var s []step
	if r.Bundle != "" {
		s = append(s, step{name: "bundle", title: func() string { return "verify and extract bundle " + r.Bundle }, run: r.openBundle})
	}
	s = append(s, step{name: "cluster", run: r.ensureCluster})
	if !r.Platform {
		return s
	}
	if r.Registry != "" {
		s = append(s, step{name: "push", title: func() string {
			return fmt.Sprintf("push %d image(s) to %s", len(r.pushed()), r.Registry)
		}, run: r.push})
	}
	s = append(s, step{name: "platform", run: r.install})
	if r.seeds() {
		s = append(s, step{name: "seed", run: r.seed})
	}
	if r.cfg.Logins != nil {
		s = append(s, step{name: "login", title: func() string { return "log the CLI in as admin (context " + r.res.Context + ")" }, run: r.login})
	}
	return s
}

func (r *upRun) cleanup() {
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

func (r *upRun) openBundle(context.Context) error {
	tmp, err := os.MkdirTemp("", "ferry-bundle-")
	if err != nil {
		return err
	}
	r.tmp = tmp
	r.bundle, err = r.cfg.ops.openBundle(r.cfg.Printer, r.Bundle, filepath.Join(tmp, "x"))
	return err
}

func (r *upRun) ensureCluster(ctx context.Context) error {
	plan, err := r.cfg.Target.PlanGPUs(ctx, r.gpu, r.Workers)
	if err != nil {
		return err
	}
	var mounts [][]v1alpha4.Mount
	if plan != nil {
		p := r.cfg.Printer
		if plan.Kind == "" {
			p.Printf("  GPUs for the nodes: none (%s)", plan.Why)
		} else {
			p.Printf("  GPUs for the nodes: %s", plan.Why)
			if err := plan.Write(); err != nil {
				return fmt.Errorf("write the nodes' GPU files: %w", err)
			}
		}
		mounts = plan.Mounts
		r.opts.GPU.CDIKind, r.opts.GPU.Why = plan.Kind, plan.Why
	}
	return r.cfg.Target.EnsureCluster(ctx, ClusterSpec{
		Workers: r.Workers, NodeImage: r.NodeImage, Mirror: r.Mirror, Wait: r.Wait, NodeMounts: mounts,
		Bundle: r.bundle, LoadImages: r.Registry == "",
		Network: func(ctx context.Context) error {
			_, err := r.cfg.ops.installNetwork(ctx, platform.Options{Target: r.opts.Target, Version: r.cfg.Version, Timeout: r.Wait}, r.cfg.Printer)
			return err
		},
		Printer: r.cfg.Printer, Out: r.cfg.Out,
	})
}

// pushed are the bundle's images that go to the registry: all but the
// node image.
func (r *upRun) pushed() []bundle.ImageInfo {
	var imgs []bundle.ImageInfo
	for _, img := range r.bundle.Manifest.Images {
		if img.Role != bundle.RoleNode {
			imgs = append(imgs, img)
		}
	}
	return imgs
}

func (r *upRun) push(ctx context.Context) error {
	var err error
	r.opts.Registry, err = r.cfg.ops.push(ctx, r.bundle, r.Registry, r.pushed()...)
	return err
}

func (r *upRun) install(ctx context.Context) error {
	var err error
	r.res, err = r.cfg.ops.install(ctx, r.opts, r.cfg.Printer)
	return err
}

func (r *upRun) seed(ctx context.Context) error {
	return r.cfg.ops.seed(ctx, r.opts, r.bundle, r.res, r.cfg.Printer)
}

func (r *upRun) login(ctx context.Context) error {
	return r.cfg.Logins.Login(ctx, r.res.Context, Access{Server: r.res.URL, Token: r.res.Token, Gateway: r.res.Gateway})
}
