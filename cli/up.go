package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/doctor"
	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/version"
)

func clusterFlags(cmd *cobra.Command, o *kind.Options) {
	cmd.Flags().StringVar(&o.Name, "name", "ferry", "local cluster name")
	cmd.Flags().StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file to write the cluster's context into (default $KUBECONFIG or ~/.kube/config)")
}

func newUpCmd(g *globals) *cobra.Command {
	var o kind.Options
	var dryRun, withPlatform bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create (or reuse) a local kind cluster that is ready for work",
		Long: "Creates a kind cluster with ferry's node image, waits until every node is Ready, CoreDNS answers and a PVC binds.\n" +
			"Idempotent: a healthy existing cluster is reused. Without a local node image and with no registry to pull kind's\n" +
			"default from, it builds ferry's node image from the Debian mirror and the Go module proxy first.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun {
				y, err := kind.ConfigYAML(o.Name, o.Workers, true)
				if err != nil {
					return err
				}
				_, err = g.stdout.Write(y)
				return err
			}
			o.Out = g.stderr
			o.BuildIfMissing = true
			p := progress.New(g.stderr)
			if checks := doctor.Run(cmd.Context(), doctor.Options{}); doctor.Failed(checks) {
				printChecks(g, checks)
				return errors.New("the host cannot run a local cluster; fix the failures above (ferry doctor)")
			}
			if err := kind.Up(cmd.Context(), o, p); err != nil {
				return err
			}
			if o.Kubeconfig == "" {
				o.Kubeconfig = kind.DefaultKubeconfig()
			}
			if withPlatform {
				po := platform.Options{Cluster: o.Name, Kubeconfig: o.Kubeconfig, Context: kind.ContextName(o.Name), Version: version.Version, Timeout: o.WaitTimeout}
				if _, err := platform.Install(cmd.Context(), po, p); err != nil {
					return err
				}
			}
			p.Printf("cluster %s ready in %s: kubectl --kubeconfig %s --context %s get nodes", o.Name, p.Elapsed(), o.Kubeconfig, kind.ContextName(o.Name))
			return nil
		},
	}
	clusterFlags(cmd, &o)
	cmd.Flags().StringVar(&o.NodeImage, "node-image", "", "node image (default: ferry's locally built image, else kind's default pinned by digest)")
	cmd.Flags().IntVar(&o.Workers, "workers", 0, "number of worker nodes besides the control plane")
	cmd.Flags().DurationVar(&o.WaitTimeout, "wait", 5*time.Minute, "how long to wait for the cluster to be ready")
	cmd.Flags().StringVar(&o.NodeImageOptions.Mirror, "mirror", "", "Debian mirror for a node image build (default: from the apt sources)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the kind cluster configuration and exit")
	cmd.Flags().BoolVar(&withPlatform, "platform", false, "also install the control plane (platform chart) into the cluster")
	return cmd
}

func newDownCmd(g *globals) *cobra.Command {
	var o kind.Options
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the local cluster, its kubeconfig entry and its docker network",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := progress.New(g.stderr)
			return p.Step("delete cluster "+o.Name, func() error { return kind.Down(cmd.Context(), o) })
		},
	}
	clusterFlags(cmd, &o)
	return cmd
}

func newStatusCmd(g *globals) *cobra.Command {
	var o kind.Options
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Report the local cluster and its nodes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := kind.GetStatus(cmd.Context(), o)
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, n := range st.Nodes {
				rows = append(rows, []string{st.Name, n.Name, n.Roles, strconv.FormatBool(n.Ready), n.Version})
			}
			if !st.Exists {
				rows = append(rows, []string{st.Name, "-", "-", "cluster does not exist", "-"})
			}
			if err := g.print(st, []string{"CLUSTER", "NODE", "ROLES", "READY", "VERSION"}, rows); err != nil {
				return err
			}
			if st.Error != "" {
				return fmt.Errorf("cluster %s exists but its API does not answer: %s", st.Name, st.Error)
			}
			if !st.Exists {
				return &ExitError{Code: 3, Err: fmt.Errorf("cluster %s does not exist; `ferry up` creates it", st.Name)}
			}
			return nil
		},
	}
	clusterFlags(cmd, &o)
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
