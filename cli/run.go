package cli

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

var runHeader = []string{"ID", "NAME", "STATUS", "USER", "STARTED", "DURATION"}

func runRows(rs ...v1.Run) [][]string {
	rows := make([][]string, 0, len(rs))
	for _, r := range rs {
		d := "-"
		if r.EndTime != nil {
			d = r.EndTime.Sub(r.StartTime).Round(time.Millisecond).String()
		}
		rows = append(rows, []string{r.ID, r.Name, r.Status, r.User, r.StartTime.Format(time.RFC3339), d})
	}
	return rows
}

func newRunCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "run", Short: "Tracked runs: params, tags and metrics (MLflow-compatible)", Aliases: []string{"runs"}}
	tenant := tenantFlag(cmd)
	var experiment string
	list := &cobra.Command{
		Use: "list", Short: "List an experiment's active runs, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Run], error) {
				return c.ListRuns(ctx, t, v1.RunListOptions{Experiment: experiment, ListOptions: o})
			})
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.Run]{Items: all}, runHeader, runRows(all...))
		},
	}
	list.Flags().StringVar(&experiment, "experiment", "", "experiment id (default: 0, the tenant's Default)")
	get := &cobra.Command{
		Use: "get RUN_ID", Short: "Show a run with its params, tags and latest metrics", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			r, err := c.GetRun(cmd.Context(), t, args[0])
			if err != nil {
				return err
			}
			if g.output != "table" {
				return g.print(r, nil, nil)
			}
			if err := g.table(runHeader, runRows(r)); err != nil {
				return err
			}
			g.page(v1.PageRun, t, r.ID)
			rows := [][]string{}
			for _, k := range sortedKeys(r.Params) {
				rows = append(rows, []string{"param", k, r.Params[k], ""})
			}
			for _, m := range r.Metrics {
				rows = append(rows, []string{"metric", m.Key, fmt.Sprint(m.Value), fmt.Sprint(m.Step)})
			}
			for _, k := range sortedKeys(r.Tags) {
				rows = append(rows, []string{"tag", k, r.Tags[k], ""})
			}
			fmt.Fprintln(g.stdout)
			return g.table([]string{"KIND", "KEY", "VALUE", "STEP"}, rows)
		},
	}
	cmd.AddCommand(list, get, newRunCompareCmd(g, tenant))
	return cmd
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
