package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/ferry-ml/ferry/bootstrap/airgap"
	"github.com/ferry-ml/ferry/bootstrap/doctor"
	"github.com/ferry-ml/ferry/bootstrap/gpuhost"
	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/internal/kubeclient"
	"github.com/ferry-ml/ferry/internal/progress"
)

// Target is the cluster the actions work on: what differs between a local
// kind cluster (Local) and an existing one (Remote).
type Target interface {
	// Platform is where the charts go: kubeconfig, context and, for a
	// local cluster, its kind name.
	Platform() platform.Target
	// ContextName is the kubeconfig context, the kubeconfig's current one
	// when none was named ("" when there is none); the CLI's login for the
	// platform carries the same name.
	ContextName() string
	// CheckUp refuses the Up settings that do not go with this target.
	CheckUp(u *Up) error
	// ClusterConfig is the kind configuration the cluster gets (Up's dry
	// run), with the nodes' extra mounts.
	ClusterConfig(workers int, mounts [][]v1alpha4.Mount) ([]byte, error)
	// PlanGPUs works out what the cluster's nodes get from this machine to
	// hand GPUs to pods; nil for a cluster ferry does not make.
	PlanGPUs(ctx context.Context, mode platform.GPUMode, workers int) (*gpuhost.Plan, error)
	// EnsureCluster makes the cluster ready to receive the platform.
	EnsureCluster(ctx context.Context, s ClusterSpec) error
	// LoadsImages says whether EnsureCluster loads a bundle's images into
	// the nodes itself; when not, they go through the platform's seed agents.
	LoadsImages() bool
	// Check fails when the cluster is not there to act on.
	Check(ctx context.Context) error
	// ClusterStatus reports the cluster that the target manages, or nil
	// for one it does not.
	ClusterStatus(ctx context.Context) (*kind.Status, error)
}

// ClusterSpec is what Up asks of EnsureCluster.
type ClusterSpec struct {
	Workers   int
	NodeImage string        // empty: ferry's own node image, else kind's default
	Mirror    string        // Debian mirror for a node image build
	Wait      time.Duration // for the nodes to be Ready
	// Bundle, when there is one, carries the node image and every other
	// image; LoadImages loads the latter into the nodes (false: they come
	// from a registry).
	Bundle     *bundle.Dir
	LoadImages bool
	// Network installs the pod network once the API answers.
	Network func(ctx context.Context) error
	// NodeMounts are each node's extra mounts (the GPU plan's).
	NodeMounts [][]v1alpha4.Mount
	Printer    *progress.Printer
	Out        io.Writer
}

// Local is a kind cluster ferry makes on this machine's container engine,
// with ferry's node image; its context lives in the default kubeconfig.
type Local struct {
	Name string
}

// Platform implements Target.
func (l Local) Platform() platform.Target {
	return platform.Target{Kubeconfig: kind.DefaultKubeconfig(), Context: kind.ContextName(l.Name), KindCluster: l.Name}
}

// ContextName implements Target.
func (l Local) ContextName() string { return kind.ContextName(l.Name) }

// CheckUp implements Target: every Up setting applies to a local cluster.
func (l Local) CheckUp(*Up) error { return nil }

// ClusterConfig implements Target.
func (l Local) ClusterConfig(workers int, mounts [][]v1alpha4.Mount) ([]byte, error) {
	return kind.ConfigYAML(l.Name, workers, true, mounts)
}

// PlanGPUs implements Target: the host's GPUs, or the fake vendor's, shared
// out over the nodes through CDI specs in kind.GPUDir.
func (l Local) PlanGPUs(ctx context.Context, mode platform.GPUMode, workers int) (*gpuhost.Plan, error) {
	dir, err := kind.GPUDir(l.Name)
	if err != nil {
		return nil, err
	}
	exists, err := kind.Exists(l.Name)
	if err != nil {
		return nil, err
	}
	if exists {
		// The nodes it has, not the --workers of this call (a reused
		// cluster keeps its nodes).
		n, err := kind.NodeCount(l.Name)
		if err != nil {
			return nil, err
		}
		workers = max(n-1, 0)
	}
	plan, err := gpuhost.Prepare(ctx, gpuhost.Options{Mode: mode, Cluster: l.Name, Workers: workers, Dir: dir})
	if err != nil || !exists {
		return plan, err
	}
	return gpuhost.Existing(plan, l.Name, mode.Mode)
}

// LoadsImages implements Target: a local cluster's nodes are containers of
// this machine's engine, so images go straight into them.
func (l Local) LoadsImages() bool { return true }

// EnsureCluster creates the kind cluster or reuses it: from the bundle's
// node image when there is a bundle (and with its other images loaded into
// the nodes before the pod network, which needs the platform image), else
// from ferry's node image, built when missing.
func (l Local) EnsureCluster(ctx context.Context, s ClusterSpec) error {
	o := kind.Options{Name: l.Name, NodeImage: s.NodeImage, Workers: s.Workers, WaitTimeout: s.Wait, Out: s.Out, BuildIfMissing: true, NodeMounts: s.NodeMounts}
	o.NodeImageOptions.Mirror = s.Mirror
	p := s.Printer
	// A host that already runs the cluster can run it: check only before creating one.
	if exists, err := kind.Exists(l.Name); err != nil || !exists {
		if checks := doctor.Run(ctx, doctor.Options{}); doctor.Failed(checks) {
			return &HostError{Checks: checks}
		}
	}
	if s.Bundle != nil {
		err := p.Step("load the bundle's node image into the container engine", func() error {
			var err error
			o.NodeImage, err = airgap.LoadNodeImage(s.Bundle, ctx, "docker")
			return err
		})
		if err != nil {
			return err
		}
		o.BuildIfMissing = false
	}
	o.PodNetwork = func(ctx context.Context) error {
		if s.Bundle != nil && s.LoadImages {
			if err := p.Step("load the bundle's images into every node", func() error { return airgap.LoadIntoKind(s.Bundle, l.Name, p) }); err != nil {
				return err
			}
		}
		return s.Network(ctx)
	}
	return kind.Up(ctx, o, p)
}

// Check implements Target: the kind cluster must exist.
func (l Local) Check(context.Context) error {
	if ok, err := kind.Exists(l.Name); err != nil || !ok {
		return errors.Join(err, fmt.Errorf("local cluster %s does not exist; name a remote one with --kubeconfig/--context", l.Name))
	}
	return nil
}

// ClusterStatus implements Target: whether the kind cluster exists and how
// its nodes are.
func (l Local) ClusterStatus(ctx context.Context) (*kind.Status, error) {
	st, err := kind.GetStatus(ctx, kind.Options{Name: l.Name})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// Remote is an existing cluster: a kubeconfig (empty: $KUBECONFIG or
// ~/.kube/config) and a context in it (empty: its current one).
type Remote struct {
	Kubeconfig, Context string
}

// Platform implements Target.
func (r Remote) Platform() platform.Target {
	return platform.Target{Kubeconfig: r.Kubeconfig, Context: r.Context}
}

// ContextName implements Target.
func (r Remote) ContextName() string {
	if r.Context != "" {
		return r.Context
	}
	name, _ := kubeclient.CurrentContext(r.Kubeconfig)
	return name
}

// CheckUp implements Target: the cluster is there already, so the settings
// that shape a local one do not apply, and a bundle's images reach its
// nodes only through the platform.
func (r Remote) CheckUp(u *Up) error {
	if len(u.LocalFlags) > 0 {
		return errors.New("--name, --workers and --node-image shape a local cluster; they do not go with --kubeconfig/--context")
	}
	if u.Bundle != "" && !u.Platform {
		return errors.New("--bundle on a remote cluster goes through the platform (seed agents or --registry): it needs --platform")
	}
	return nil
}

// ClusterConfig implements Target: ferry does not make a remote cluster.
func (r Remote) ClusterConfig(int, [][]v1alpha4.Mount) ([]byte, error) {
	return nil, errors.New("--dry-run prints a local cluster's kind configuration; it does not go with --kubeconfig/--context")
}

// PlanGPUs implements Target: a remote cluster's nodes have what they have.
func (r Remote) PlanGPUs(context.Context, platform.GPUMode, int) (*gpuhost.Plan, error) {
	return nil, nil
}

// EnsureCluster implements Target: the cluster is there already.
func (r Remote) EnsureCluster(context.Context, ClusterSpec) error { return nil }

// LoadsImages implements Target: ferry cannot reach a remote cluster's
// nodes but through the cluster.
func (r Remote) LoadsImages() bool { return false }

// Check implements Target: the API server answers or the action fails there.
func (r Remote) Check(context.Context) error { return nil }

// ClusterStatus implements Target: ferry does not manage a remote cluster.
func (r Remote) ClusterStatus(context.Context) (*kind.Status, error) { return nil, nil }
