package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/action"
	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platform"
)

func newStatusCmd(g *globals) *cobra.Command {
	var t targetFlags
	cfg := new(action.Configuration)
	st := action.NewStatus(cfg)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Report the cluster, its nodes, ferry's releases and pods, and GPUs",
		Long:  "Exit status 3 when the local cluster does not exist, 4 when the platform is not installed.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t.configure(cfg, cmd, g)
			out, err := st.Run(cmd.Context())
			if out == nil {
				return err
			}
			if g.output != "table" {
				if err := g.print(out, nil, nil); err != nil {
					return err
				}
			} else if err := statusTables(g, out.Cluster, out.Platform); err != nil {
				return err
			}
			if nf := (*action.ClusterNotFoundError)(nil); errors.As(err, &nf) {
				return &ExitError{Code: 3, Err: err}
			}
			if errors.Is(err, action.ErrNotInstalled) {
				return &ExitError{Code: 4, Err: err}
			}
			return err
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
