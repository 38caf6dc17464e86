package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/ferry-ml/ferry/bootstrap/nodeimage"
	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/shell"
)

// Network is the docker network ferry's kind clusters use, so that `down`
// can remove it without touching other kind clusters.
const Network = "ferry"

// Options configures a local cluster.
type Options struct {
	Name string
	// NodeImage overrides the node image; empty means ferry's own image when
	// it is present, otherwise kind's default pinned by digest.
	NodeImage string
	// BuildIfMissing builds ferry's node image from the mirrors when neither
	// a local image nor a pullable default is available.
	BuildIfMissing bool
	Workers        int
	// Kubeconfig is the file kind writes the cluster's context into
	// (default: $KUBECONFIG or ~/.kube/config).
	Kubeconfig       string
	WaitTimeout      time.Duration
	Docker           string
	NodeImageOptions nodeimage.Options
	Out              io.Writer
	// PodNetwork installs the pod network on a cluster of ferry's node image
	// (which has none of its own) once the API answers, before the nodes
	// can be Ready; it runs again when an existing cluster is reused.
	PodNetwork func(ctx context.Context) error
	// NodeMounts are each node's extra mounts (see Config). A reused
	// cluster must have been made with them.
	NodeMounts [][]v1alpha4.Mount
}

// Validate fills defaults.
func (o *Options) Validate() error {
	if o.Name == "" {
		o.Name = "ferry"
	}
	if err := ValidName(o.Name); err != nil {
		return err
	}
	if o.Workers < 0 {
		return fmt.Errorf("--workers %d: must be 0 or more", o.Workers)
	}
	if o.Kubeconfig == "" {
		o.Kubeconfig = DefaultKubeconfig()
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 5 * time.Minute
	}
	if o.Docker == "" {
		o.Docker = "docker"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return nil
}

// DefaultKubeconfig is the first $KUBECONFIG entry or ~/.kube/config.
func DefaultKubeconfig() string {
	if k := os.Getenv("KUBECONFIG"); k != "" {
		return filepath.SplitList(k)[0]
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kube", "config")
}

// ContextName is the kubeconfig context kind writes for a cluster.
func ContextName(name string) string { return "kind-" + name }

func provider() *cluster.Provider {
	// kind reads its network name from the environment only.
	_ = os.Setenv("KIND_EXPERIMENTAL_DOCKER_NETWORK", Network)
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindlog.NoopLogger{}))
}

// Exists reports whether a kind cluster with this name exists.
func Exists(name string) (bool, error) {
	names, err := provider().List()
	if err != nil {
		return false, fmt.Errorf("list kind clusters: %w", err)
	}
	for _, n := range names {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// NodeCount is how many nodes cluster name has (the control plane and the
// workers).
func NodeCount(name string) (int, error) {
	nodes, err := provider().ListNodes(name)
	if err != nil {
		return 0, fmt.Errorf("list the nodes of kind cluster %s: %w", name, err)
	}
	return len(nodes), nil
}

// Up creates the cluster, or reuses a healthy existing one, and waits until
// it can run work. It returns the kubeconfig path.
func Up(ctx context.Context, o Options, p *progress.Printer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	exists, err := Exists(o.Name)
	if err != nil {
		return err
	}
	prov := provider()
	if exists {
		err := p.Step("reuse existing cluster "+o.Name, func() error {
			if err := prov.ExportKubeConfig(o.Name, o.Kubeconfig, false); err != nil {
				return fmt.Errorf("export kubeconfig: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := checkMounts(ctx, o); err != nil {
			return err
		}
		if o.PodNetwork != nil && isFerryNode(ctx, o.Docker, nodeImageOf(ctx, o.Docker, o.Name)) {
			if err := o.PodNetwork(ctx); err != nil {
				return err
			}
		}
		if err := waitNodesReady(ctx, o.Kubeconfig, ContextName(o.Name), time.Minute); err != nil {
			return fmt.Errorf("%w (the cluster exists but is not healthy; `ferry down` then `ferry up` recreates it)", err)
		}
		return nil
	}
	image, ferryNode, err := resolveImage(ctx, o, p)
	if err != nil {
		return err
	}
	err = p.Step(fmt.Sprintf("create kind cluster %s (%d node(s), image %s)", o.Name, 1+o.Workers, image), func() error {
		return prov.Create(o.Name,
			cluster.CreateWithV1Alpha4Config(Config(o.Name, o.Workers, ferryNode, o.NodeMounts)),
			cluster.CreateWithNodeImage(image),
			cluster.CreateWithKubeconfigPath(o.Kubeconfig),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false),
		)
	})
	if err != nil {
		return err
	}
	if ferryNode && o.PodNetwork != nil {
		if err := o.PodNetwork(ctx); err != nil {
			return err
		}
	}
	if err := p.Step("wait for every node to be Ready", func() error {
		return waitNodesReady(ctx, o.Kubeconfig, ContextName(o.Name), o.WaitTimeout)
	}); err != nil {
		if ferryNode {
			err = fmt.Errorf("%w (the pod network comes from the node agent: kubectl -n kube-system logs ds/ferry-node-agent)", err)
		}
		return err
	}
	if !ferryNode {
		return nil
	}
	return p.Step("check that CoreDNS answers and the default StorageClass binds a PVC", func() error {
		return smokeTest(ctx, o.Kubeconfig, ContextName(o.Name), o.WaitTimeout)
	})
}

// resolveImage picks the node image: the flag, ferry's own image, kind's
// pullable default, or (when allowed) a fresh build from the mirrors.
func resolveImage(ctx context.Context, o Options, p *progress.Printer) (string, bool, error) {
	if o.NodeImage != "" {
		return o.NodeImage, isFerryNode(ctx, o.Docker, o.NodeImage), nil
	}
	own := nodeimage.Tag()
	if nodeimage.Exists(ctx, o.Docker, own) {
		return own, true, nil
	}
	upstream := defaults.Image // kind's own default, pinned by digest
	if nodeimage.Exists(ctx, o.Docker, upstream) {
		return upstream, false, nil
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := shell.Command(o.Docker, "pull", upstream).Run(pctx); err == nil {
		return upstream, false, nil
	}
	if !o.BuildIfMissing {
		return "", false, fmt.Errorf("no node image: %s is not built and %s cannot be pulled; run `ferry node-image build`", own, upstream)
	}
	p.Printf("no local node image and %s cannot be pulled: building %s from the Debian mirror and the Go module proxy (about 40 minutes cold, seconds when cached)", upstream, own)
	nio := o.NodeImageOptions
	nio.Out = o.Out
	tag, err := nodeimage.Build(ctx, nio)
	return tag, true, err
}

// nodeImageOf names the image of a cluster's control-plane node container.
func nodeImageOf(ctx context.Context, docker, name string) string {
	out, err := shell.Command(docker, "inspect", "--format", "{{.Config.Image}}", name+"-control-plane").Output(ctx)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func isFerryNode(ctx context.Context, docker, image string) bool {
	out, err := shell.Command(docker, "image", "inspect", "--format", "{{index .Config.Labels \""+nodeimage.InputsLabel+"\"}}", image).Output(ctx)
	return err == nil && strings.TrimSpace(out) != "" && !strings.Contains(out, "no value")
}

// Down deletes the cluster, its kubeconfig entry and, when no other ferry
// cluster uses it, the docker network.
func Down(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	prov := provider()
	if err := prov.Delete(o.Name, o.Kubeconfig); err != nil {
		return fmt.Errorf("delete kind cluster %s: %w", o.Name, err)
	}
	if dir, err := GPUDir(o.Name); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove the GPU files of cluster %s: %w", o.Name, err)
		}
	}
	names, err := prov.List()
	if err != nil {
		return err
	}
	if len(names) > 0 {
		return nil
	}
	if shell.Command(o.Docker, "network", "inspect", Network).Run(ctx) != nil {
		return nil
	}
	if err := shell.Command(o.Docker, "network", "rm", Network).Run(ctx); err != nil {
		return errors.Join(errors.New("remove docker network "+Network), err)
	}
	return nil
}

// checkMounts fails when a reused cluster's nodes lack the mounts asked
// for: kind cannot add mounts to a node that exists.
func checkMounts(ctx context.Context, o Options) error {
	for i, ms := range o.NodeMounts {
		if len(ms) == 0 {
			continue
		}
		node := NodeName(o.Name, i)
		out, err := shell.Command(o.Docker, "inspect", "--format", "{{range .Mounts}}{{.Destination}}\n{{end}}", node).Output(ctx)
		if err != nil {
			return fmt.Errorf("inspect node %s: %w", node, err)
		}
		have := strings.Split(strings.TrimSpace(string(out)), "\n")
		for _, m := range ms {
			if !slices.Contains(have, m.ContainerPath) {
				return fmt.Errorf("cluster %s exists, but node %s was made without the mount at %s that its GPUs need (kind cannot add mounts to a node): `ferry down --name %s` and `ferry up` again, or keep it without GPUs with --gpu off",
					o.Name, node, m.ContainerPath, o.Name)
			}
		}
	}
	return nil
}

// ExportLogs writes kind's node logs (journal, containers, pods) to dir.
func ExportLogs(name, dir string) error {
	return provider().CollectLogs(name, dir)
}
