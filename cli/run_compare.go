package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

// runComparison lines up runs: their params (differing ones marked) and
// final metrics, and optionally one metric's series by step.
type runComparison struct {
	Runs   []v1.Run                    `json:"runs"`
	Differ []string                    `json:"differingParams"`
	Series map[string][]v1.MetricValue `json:"series,omitempty"`
}

func newRunCompareCmd(g *globals, tenant func() (string, error)) *cobra.Command {
	var metric string
	cmd := &cobra.Command{
		Use: "compare RUN_ID RUN_ID [RUN_ID...]", Short: "Line up 2-10 runs: params (differences marked *), final metrics, and --metric's series by step",
		Args: cobra.RangeArgs(2, 10),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			cmp := runComparison{}
			for _, id := range args {
				r, err := c.GetRun(cmd.Context(), t, id)
				if err != nil {
					return fmt.Errorf("run %s: %w", id, err)
				}
				cmp.Runs = append(cmp.Runs, r)
			}
			if metric != "" {
				cmp.Series = map[string][]v1.MetricValue{}
				for _, r := range cmp.Runs {
					s, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.MetricValue], error) {
						return c.MetricHistory(ctx, t, r.ID, metric, o)
					})
					if err != nil {
						return fmt.Errorf("run %s metric %s: %w", r.ID, metric, err)
					}
					cmp.Series[r.ID] = s
				}
			}
			params, metrics := map[string]bool{}, map[string]bool{}
			for _, r := range cmp.Runs {
				for k := range r.Params {
					params[k] = true
				}
				for _, m := range r.Metrics {
					metrics[m.Key] = true
				}
			}
			for _, k := range sortedSet(params) {
				for _, r := range cmp.Runs[1:] {
					v, ok := r.Params[k]
					v0, ok0 := cmp.Runs[0].Params[k]
					if v != v0 || ok != ok0 {
						cmp.Differ = append(cmp.Differ, k)
						break
					}
				}
			}
			if g.output != "table" {
				return g.print(cmp, nil, nil)
			}
			header := []string{"", "KEY"}
			for _, r := range cmp.Runs {
				header = append(header, r.Name+" ("+shortID(r.ID)+")")
			}
			differ := map[string]bool{}
			for _, k := range cmp.Differ {
				differ[k] = true
			}
			rows := [][]string{}
			for _, k := range sortedSet(params) {
				mark := "param"
				if differ[k] {
					mark = "param *"
				}
				row := []string{mark, k}
				for _, r := range cmp.Runs {
					v, ok := r.Params[k]
					if !ok {
						v = "-"
					}
					row = append(row, v)
				}
				rows = append(rows, row)
			}
			for _, k := range sortedSet(metrics) {
				row := []string{"metric", k}
				for _, r := range cmp.Runs {
					v := "-"
					for _, m := range r.Metrics {
						if m.Key == k {
							v = fmt.Sprint(m.Value)
						}
					}
					row = append(row, v)
				}
				rows = append(rows, row)
			}
			if err := g.table(header, rows); err != nil {
				return err
			}
			if metric == "" {
				return nil
			}
			// The series side by side, one row per step any run logged.
			steps := map[int64]map[string]string{}
			for id, s := range cmp.Series {
				for _, m := range s {
					if steps[m.Step] == nil {
						steps[m.Step] = map[string]string{}
					}
					steps[m.Step][id] = fmt.Sprint(m.Value)
				}
			}
			order := make([]int64, 0, len(steps))
			for s := range steps {
				order = append(order, s)
			}
			sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
			sh := []string{"STEP"}
			for _, r := range cmp.Runs {
				sh = append(sh, shortID(r.ID))
			}
			srows := [][]string{}
			for _, s := range order {
				row := []string{strconv.FormatInt(s, 10)}
				for _, r := range cmp.Runs {
					row = append(row, dash(steps[s][r.ID]))
				}
				srows = append(srows, row)
			}
			fmt.Fprintf(g.stdout, "\n%s by step:\n", metric)
			return g.table(sh, srows)
		},
	}
	cmd.Flags().StringVar(&metric, "metric", "", "also print this metric's series, step by step, side by side")
	return cmd
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
