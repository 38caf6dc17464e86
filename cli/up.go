package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ferry-ml/ferry/bootstrap/airgap"
	"github.com/ferry-ml/ferry/bundle"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/doctor"
	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/internal/kubeclient"
	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/version"
)

// targetFlags are how a command names its cluster: the local kind cluster
// by --name, or an existing cluster by --kubeconfig and/or --context.
type targetFlags struct {
	name, kubeconfig, kubeContext string
}

func (t *targetFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.name, "name", "ferry", "local kind cluster name")
	cmd.Flags().StringVar(&t.kubeconfig, "kubeconfig", "", "an existing cluster's kubeconfig: target it instead of a local cluster")
	cmd.Flags().StringVar(&t.kubeContext, "context", "", "an existing cluster's kubeconfig context: target it instead of a local cluster")
}

func (t *targetFlags) remote() bool { return t.kubeconfig != "" || t.kubeContext != "" }

// target is the platform target: the remote cluster, or the local one.
func (t *targetFlags) target() platform.Target {
	if t.remote() {
		return platform.Target{Kubeconfig: t.kubeconfig, Context: t.kubeContext}
	}
	return platform.Target{Kubeconfig: kind.DefaultKubeconfig(), Context: kind.ContextName(t.name), KindCluster: t.name}
}

func newUpCmd(g *globals) *cobra.Command {
	var o kind.Options
	var t targetFlags
	var dryRun, withPlatform bool
	var gpu, bundleFile, registry string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create or reuse a cluster, install the platform, and log the CLI in",
		Long: "Without --kubeconfig/--context: creates (or reuses) a local kind cluster with ferry's node image and waits\n" +
			"until every node is Ready, CoreDNS answers and a PVC binds. With them: targets that existing cluster.\n" +
			"Then builds the platform image from this executable, delivers it to every node (no registry), installs or\n" +
			"upgrades the platform chart (and the gpu chart, see --gpu), logs the CLI in with the admin token and prints\n" +
			"the URL and the token. Idempotent: with nothing changed a second up only checks.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, err := platform.ParseGPUMode(gpu)
			if err != nil {
				return err
			}
			if registry != "" && bundleFile == "" {
				return errors.New("--registry needs --bundle: it pushes the bundle's images to that registry")
			}
			if o.Workers < 0 {
				return fmt.Errorf("--workers %d: must be 0 or more", o.Workers)
			}
			if dryRun {
				y, err := kind.ConfigYAML(t.name, o.Workers, true)
				if err != nil {
					return err
				}
				_, err = g.stdout.Write(y)
				return err
			}
			if t.remote() && (cmd.Flags().Changed("workers") || cmd.Flags().Changed("node-image") || cmd.Flags().Changed("name")) {
				return errors.New("--name, --workers and --node-image shape a local cluster; they do not go with --kubeconfig/--context")
			}
			if bundleFile != "" && cmd.Flags().Changed("node-image") {
				return errors.New("--node-image does not go with --bundle: the bundle carries the node image")
			}
			if bundleFile != "" && t.remote() && !withPlatform {
				return errors.New("--bundle on a remote cluster goes through the platform (seed agents or --registry): it needs --platform")
			}
			p := progress.New(g.stderr)
			var d *bundle.Dir
			if bundleFile != "" {
				tmp, err := os.MkdirTemp("", "ferry-bundle-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				if d, err = openBundle(p, bundleFile, filepath.Join(tmp, "x")); err != nil {
					return err
				}
			}
			if !t.remote() {
				if err := upLocal(cmd, g, p, o, t.name, d, registry == ""); err != nil {
					return err
				}
			}
			tg := t.target()
			if !withPlatform {
				p.Printf("cluster ready in %s (platform not installed: --platform=false): kubectl --context %s get nodes", p.Elapsed(), tg.Context)
				return nil
			}
			po := platform.Options{Target: tg, Version: version.Version, Timeout: o.WaitTimeout, GPU: mode, Seed: d != nil && t.remote() && registry == ""}
			if d != nil && registry != "" {
				var imgs []bundle.ImageInfo
				for _, img := range d.Manifest.Images {
					if img.Role != bundle.RoleNode {
						imgs = append(imgs, img)
					}
				}
				err := p.Step(fmt.Sprintf("push %d image(s) to %s", len(imgs), registry), func() error {
					var err error
					po.Registry, err = d.Push(cmd.Context(), registry, imgs...)
					return err
				})
				if err != nil {
					return err
				}
			}
			res, err := platform.Install(cmd.Context(), po, p)
			if err != nil {
				return err
			}
			if po.Seed {
				if err := platform.Seed(cmd.Context(), po, d, res, p); err != nil {
					return err
				}
			}
			err = p.Step("log the CLI in as admin (context "+res.Context+")", func() error {
				_, err := Login(cmd, LoginOptions{ConfigPath: g.configPath, Context: res.Context, Server: res.URL, Token: res.Token})
				return err
			})
			if err != nil {
				return err
			}
			p.Printf("ferry is up in %s", p.Elapsed())
			return g.print(res, []string{"URL", "TOKEN", "CONTEXT", "IMAGE"}, [][]string{{res.URL, res.Token, res.Context, res.Image}})
		},
	}
	t.add(cmd)
	cmd.Flags().StringVar(&o.NodeImage, "node-image", "", "node image (default: ferry's locally built image, else kind's default pinned by digest)")
	cmd.Flags().IntVar(&o.Workers, "workers", 0, "number of worker nodes besides the control plane")
	cmd.Flags().DurationVar(&o.WaitTimeout, "wait", 5*time.Minute, "how long to wait for the cluster and each release to be ready")
	cmd.Flags().StringVar(&o.NodeImageOptions.Mirror, "mirror", "", "Debian mirror for a node image build (default: from the apt sources)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the kind cluster configuration and exit")
	cmd.Flags().BoolVar(&withPlatform, "platform", true, "install the control plane (platform chart); --platform=false stops after the cluster")
	cmd.Flags().StringVar(&bundleFile, "bundle", "", "air gap: take every image from this bundle (ferry bundle create), nothing pulled or built; remote clusters get them through the seed DaemonSet")
	cmd.Flags().StringVar(&registry, "registry", "", "with --bundle: push its images to this registry (HOST[:PORT][/prefix], same digests) and install the charts from there")
	cmd.Flags().StringVar(&gpu, "gpu", "auto", "GPUs: off, auto (nvidia-smi here for a local cluster, node labels for a remote one), nvidia, or fake[:N] (N fake GPUs per node)")
	return cmd
}

func newDownCmd(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the local cluster, its kubeconfig entry, its docker network and its CLI login",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := progress.New(g.stderr)
			if err := p.Step("delete cluster "+name, func() error { return kind.Down(cmd.Context(), kind.Options{Name: name}) }); err != nil {
				return err
			}
			return forgetContext(g, kind.ContextName(name))
		},
	}
	cmd.Flags().StringVar(&name, "name", "ferry", "local kind cluster name")
	return cmd
}

func newUninstallCmd(g *globals) *cobra.Command {
	var t targetFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the platform from a cluster and leave nothing of ferry behind (releases, tenant namespaces, data)",
		Long: "Uninstalls the gpu and platform releases, then deletes every namespace ferry labelled (the tenants' and\n" +
			"ferry-system with the control plane's data volume), waits until they are gone, and removes the CLI login.\n" +
			"The data is lost: back it up first (ferry server backup inside the pod, or a copy of the volume).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := progress.New(g.stderr)
			tg := t.target()
			if !t.remote() {
				if ok, err := kind.Exists(t.name); err != nil || !ok {
					return errors.Join(err, fmt.Errorf("local cluster %s does not exist; name a remote one with --kubeconfig/--context", t.name))
				}
			}
			if err := platform.Uninstall(cmd.Context(), tg, timeout, p); err != nil {
				return err
			}
			ctxName := tg.Context
			if ctxName == "" {
				ctxName = currentKubeContext(tg.Kubeconfig)
			}
			p.Printf("platform removed in %s", p.Elapsed())
			return forgetContext(g, ctxName)
		},
	}
	t.add(cmd)
	cmd.Flags().DurationVar(&timeout, "wait", 5*time.Minute, "how long to wait for each removal")
	return cmd
}

func newStatusCmd(g *globals) *cobra.Command {
	var t targetFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Report the cluster, its nodes, ferry's releases and pods, and GPUs",
		Long:  "Exit status 3 when the local cluster does not exist, 4 when the platform is not installed.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := struct {
				Cluster  *kind.Status     `json:"cluster,omitempty"`
				Platform *platform.Status `json:"platform,omitempty"`
			}{}
			var clusterErr error
			if !t.remote() {
				st, err := kind.GetStatus(cmd.Context(), kind.Options{Name: t.name})
				if err != nil {
					return err
				}
				out.Cluster = &st
				switch {
				case !st.Exists:
					clusterErr = &ExitError{Code: 3, Err: fmt.Errorf("cluster %s does not exist; `ferry up` creates it", st.Name)}
				case st.Error != "":
					clusterErr = fmt.Errorf("cluster %s exists but its API does not answer: %s", st.Name, st.Error)
				}
			}
			if clusterErr == nil {
				ps, err := platform.GetStatus(cmd.Context(), t.target())
				if err != nil {
					return err
				}
				out.Platform = &ps
			}
			if g.output != "table" {
				if err := g.print(out, nil, nil); err != nil {
					return err
				}
			} else if err := statusTables(g, out.Cluster, out.Platform); err != nil {
				return err
			}
			if clusterErr != nil {
				return clusterErr
			}
			if !out.Platform.Installed() {
				return &ExitError{Code: 4, Err: errors.New("the platform is not installed; `ferry up` installs it")}
			}
			return nil
		},
	}
	t.add(cmd)
	return cmd
}

func statusTables(g *globals, c *kind.Status, p *platform.Status) error {
	if c != nil {
		rows := [][]string{}
		for _, n := range c.Nodes {
			rows = append(rows, []string{c.Name, n.Name, n.Roles, strconv.FormatBool(n.Ready), n.Version})
		}
		if !c.Exists {
			rows = append(rows, []string{c.Name, "-", "-", "cluster does not exist", "-"})
		}
		if err := g.table([]string{"CLUSTER", "NODE", "ROLES", "READY", "VERSION"}, rows); err != nil {
			return err
		}
	}
	if p == nil {
		return nil
	}
	fmt.Fprintln(g.stdout)
	rows := [][]string{}
	for _, r := range p.Releases {
		rows = append(rows, []string{r.Name, r.Chart, r.AppVersion, strconv.Itoa(r.Revision), r.Status, r.Updated.Format(time.RFC3339)})
	}
	if err := g.table([]string{"RELEASE", "CHART", "APP VERSION", "REVISION", "STATUS", "UPDATED"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(g.stdout)
	rows = rows[:0]
	for _, pod := range p.Pods {
		rows = append(rows, []string{pod.Name, pod.Ready, pod.Phase, strconv.Itoa(int(pod.Restarts)), pod.Node, pod.Image})
	}
	if err := g.table([]string{"POD", "READY", "PHASE", "RESTARTS", "NODE", "IMAGE"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(g.stdout)
	rows = rows[:0]
	for _, n := range p.GPUNodes {
		rows = append(rows, []string{n.Node, strconv.FormatInt(n.Allocatable, 10)})
	}
	if err := g.table([]string{"NODE", "NVIDIA.COM/GPU"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "\ntenant namespaces: %d\n", len(p.Tenants))
	if len(p.NetworkProblems) > 0 {
		fmt.Fprintln(g.stdout, "\nNetworkPolicies not enforced (they allow nothing until fixed):")
		rows = rows[:0]
		for _, n := range p.NetworkProblems {
			rows = append(rows, []string{n.Policy, n.Node, n.Message})
		}
		return g.table([]string{"POLICY", "NODE", "PROBLEM"}, rows)
	}
	return nil
}

func newDoctorCmd(g *globals) *cobra.Command {
	var ports []int
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this host can run a local cluster, and explain how to fix what cannot",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := doctor.Run(cmd.Context(), doctor.Options{Ports: ports})
			if err := printChecks(g, checks); err != nil {
				return err
			}
			if doctor.Failed(checks) {
				return errors.New("some checks failed")
			}
			return nil
		},
	}
	cmd.Flags().IntSliceVar(&ports, "port", nil, "ports that must be free on 127.0.0.1")
	return cmd
}

func printChecks(g *globals, checks []doctor.Check) error {
	rows := [][]string{}
	for _, c := range checks {
		rows = append(rows, []string{c.Name, string(c.Level), c.Detail, c.Fix})
	}
	return g.print(checks, []string{"CHECK", "RESULT", "DETAIL", "FIX"}, rows)
}

func newImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Move container images into the local cluster"}
	var name string
	load := &cobra.Command{
		Use: "load IMAGE...", Short: "Load images from the local Docker engine into every node (no registry needed)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := progress.New(g.stderr)
			return p.Step(fmt.Sprintf("load %d image(s) into cluster %s", len(args), name), func() error {
				return kind.LoadImages(cmd.Context(), name, "", args...)
			})
		},
	}
	load.Flags().StringVar(&name, "name", "ferry", "local cluster name")
	cmd.AddCommand(load)
	return cmd
}

// forgetContext removes a cluster's CLI login, if there is one.
func forgetContext(g *globals, name string) error {
	cfg, err := LoadClientConfig(g.configPath)
	if err != nil || !cfg.Remove(name) {
		return err
	}
	if err := cfg.Save(g.configPath); err != nil {
		return fmt.Errorf("save config %s: %w", g.configPath, err)
	}
	fmt.Fprintf(g.stderr, "removed CLI context %q from %s\n", name, g.configPath)
	return nil
}

func currentKubeContext(kubeconfig string) string {
	name, _ := kubeclient.CurrentContext(kubeconfig)
	return name
}

// upLocal makes the local cluster ready: from the bundle's node image when
// there is a bundle (and its other images loaded into the nodes unless they
// go through a registry), else from ferry's node image.
func upLocal(cmd *cobra.Command, g *globals, p *progress.Printer, o kind.Options, name string, d *bundle.Dir, loadImages bool) error {
	o.Name, o.Out, o.BuildIfMissing = name, g.stderr, true
	// A host that already runs the cluster can run it: check only before creating one.
	if exists, err := kind.Exists(name); err != nil || !exists {
		if checks := doctor.Run(cmd.Context(), doctor.Options{}); doctor.Failed(checks) {
			printChecks(g, checks)
			return errors.New("the host cannot run a local cluster; fix the failures above (ferry doctor)")
		}
	}
	if d != nil {
		err := p.Step("load the bundle's node image into the container engine", func() error {
			var err error
			o.NodeImage, err = airgap.LoadNodeImage(d, cmd.Context(), "docker")
			return err
		})
		if err != nil {
			return err
		}
		o.BuildIfMissing = false
	}
	// The nodes' pod network is ferry's node agent, from the platform image:
	// the bundle's images go into the nodes first, so that it is there.
	o.PodNetwork = func(ctx context.Context) error {
		if d != nil && loadImages {
			if err := p.Step("load the bundle's images into every node", func() error { return airgap.LoadIntoKind(d, name, p) }); err != nil {
				return err
			}
		}
		t := targetFlags{name: name}
		_, err := platform.InstallNetwork(ctx, platform.Options{Target: t.target(), Version: version.Version, Timeout: o.WaitTimeout}, p)
		return err
	}
	return kind.Up(cmd.Context(), o, p)
}

// openBundle verifies and extracts a bundle and checks that it belongs to
// this executable.
func openBundle(p *progress.Printer, file, dir string) (*bundle.Dir, error) {
	var d *bundle.Dir
	start := time.Now()
	err := p.Step("verify and extract bundle "+file, func() error {
		var err error
		d, err = bundle.Extract(file, dir, readProgress(p, start))
		if err != nil {
			return err
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		return airgap.CheckBinary(d, exe)
	})
	return d, err
}
