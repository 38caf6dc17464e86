package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/action"
	"github.com/ferry-ml/ferry/bootstrap/doctor"
	"github.com/ferry-ml/ferry/bootstrap/kind"
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

// target is the cluster the flags name.
func (t *targetFlags) target() action.Target {
	if t.kubeconfig != "" || t.kubeContext != "" {
		return action.Remote{Kubeconfig: t.kubeconfig, Context: t.kubeContext}
	}
	return action.Local{Name: t.name}
}

// configure fills the actions' shared configuration for a command.
func (t *targetFlags) configure(cfg *action.Configuration, cmd *cobra.Command, g *globals) {
	*cfg = action.Configuration{
		Target:  t.target(),
		Printer: progress.New(g.stderr),
		Version: version.Version,
		Logins:  logins{cmd: cmd, g: g},
		Out:     g.stderr,
	}
}

// logins keeps the CLI's logins in its config file.
type logins struct {
	cmd *cobra.Command
	g   *globals
}

// Login implements action.Logins; Login reads ctx from the command, which
// is the context the action runs under.
func (l logins) Login(_ context.Context, name string, a action.Access) error {
	_, err := Login(l.cmd, LoginOptions{ConfigPath: l.g.configPath, Context: name, Server: a.Server, Token: a.Token, Gateway: a.Gateway})
	return err
}

// Forget implements action.Logins.
func (l logins) Forget(name string) error { return forgetContext(l.g, name) }

func newUpCmd(g *globals) *cobra.Command {
	var t targetFlags
	cfg := new(action.Configuration)
	up := action.NewUp(cfg)
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
			t.configure(cfg, cmd, g)
			up.LocalFlags = nil
			for _, f := range []string{"name", "workers", "node-image"} {
				if cmd.Flags().Changed(f) {
					up.LocalFlags = append(up.LocalFlags, f)
				}
			}
			res, err := up.Run(cmd.Context())
			if he := (*action.HostError)(nil); errors.As(err, &he) {
				printChecks(g, he.Checks)
			}
			if err != nil {
				return err
			}
			if res.ClusterConfig != nil {
				_, err = g.stdout.Write(res.ClusterConfig)
				return err
			}
			if r := res.Platform; r != nil {
				return g.print(r, []string{"URL", "TOKEN", "CONTEXT", "IMAGE"}, [][]string{{r.URL, r.Token, r.Context, r.Image}})
			}
			return nil
		},
	}
	t.add(cmd)
	cmd.Flags().StringVar(&up.NodeImage, "node-image", "", "node image (default: ferry's locally built image, else kind's default pinned by digest)")
	cmd.Flags().IntVar(&up.Workers, "workers", 0, "number of worker nodes besides the control plane")
	cmd.Flags().DurationVar(&up.Wait, "wait", 5*time.Minute, "how long to wait for the cluster and each release to be ready")
	cmd.Flags().StringVar(&up.Mirror, "mirror", "", "Debian mirror for a node image build (default: from the apt sources)")
	cmd.Flags().BoolVar(&up.DryRun, "dry-run", false, "print the kind cluster configuration and exit")
	cmd.Flags().BoolVar(&up.Platform, "platform", true, "install the control plane (platform chart); --platform=false stops after the cluster")
	cmd.Flags().StringVar(&up.Bundle, "bundle", "", "air gap: take every image from this bundle (ferry bundle create), nothing pulled or built; remote clusters get them through the seed DaemonSet")
	cmd.Flags().StringVar(&up.Registry, "registry", "", "with --bundle: push its images to this registry (HOST[:PORT][/prefix], same digests) and install the charts from there")
	cmd.Flags().StringVar(&up.GPU, "gpu", "auto", "GPUs: off, auto (nvidia-smi here for a local cluster, node labels for a remote one), nvidia, or fake[:N] (N fake GPUs per node)")
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
