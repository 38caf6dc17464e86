package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

// withPipelineRuns adds the verbs of pipeline runs to `ferry run` (a
// pipeline run is a tracking run, its steps child runs): submit, logs,
// cancel, retry, and a get that prints the DAG of a pipeline run.
func withPipelineRuns(g *globals, run *cobra.Command) *cobra.Command {
	tenant := func(cmd *cobra.Command) (string, error) {
		t, _ := cmd.Flags().GetString("tenant")
		if t == "" {
			return "", errors.New("--tenant is required")
		}
		return t, nil
	}
	var params []string
	var version int64
	var wait time.Duration
	submit := &cobra.Command{
		Use: "submit PIPELINE [-p NAME=VALUE]...", Short: "Run a pipeline (its latest version unless --version)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenant(cmd)
			if err != nil {
				return err
			}
			in := v1.PipelineRunSubmit{Version: version, Parameters: map[string]string{}}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return fmt.Errorf("-p %q: write NAME=VALUE", p)
				}
				in.Parameters[k] = v
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			r, err := c.SubmitPipelineRun(cmd.Context(), t, args[0], in)
			if err != nil {
				return err
			}
			if wait > 0 {
				if r, err = waitPipelineRun(cmd, c, t, r.ID, wait); err != nil {
					return err
				}
			}
			if err := printPipelineRun(g, r); err != nil {
				return err
			}
			if wait > 0 && r.State != v1.PipelineRunSucceeded {
				return fmt.Errorf("pipeline run %s %s: %s", r.ID, r.State, r.Reason)
			}
			return nil
		},
	}
	submit.Flags().StringArrayVarP(&params, "param", "p", nil, "a parameter value, NAME=VALUE (lists as JSON: -p lrs=[0.1,0.2])")
	submit.Flags().Int64Var(&version, "version", 0, "the pipeline version (default: the latest)")
	submit.Flags().DurationVar(&wait, "wait", 0, "wait this long for the run to end; fail unless it succeeds")
	var follow bool
	logs := &cobra.Command{
		Use: "logs RUN STEP", Short: "A step's log (step[i] for an item of a fan-out); kept after its pod is gone", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenant(cmd)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.PipelineStepLogs(cmd.Context(), t, args[0], args[1], follow, g.stdout)
		},
	}
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming while the step runs")
	change := func(use, short string, f func(c *client.Client, cmd *cobra.Command, t, id string) (v1.PipelineRun, error)) *cobra.Command {
		return &cobra.Command{Use: use + " RUN", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				t, err := tenant(cmd)
				if err != nil {
					return err
				}
				c, err := g.client()
				if err != nil {
					return err
				}
				r, err := f(c, cmd, t, args[0])
				if err != nil {
					return err
				}
				return printPipelineRun(g, r)
			}}
	}
	cancel := change("cancel", "Cancel a pipeline run: its running pods are deleted", func(c *client.Client, cmd *cobra.Command, t, id string) (v1.PipelineRun, error) {
		return c.CancelPipelineRun(cmd.Context(), t, id)
	})
	retry := change("retry", "Retry a failed or cancelled pipeline run from the steps that did not succeed", func(c *client.Client, cmd *cobra.Command, t, id string) (v1.PipelineRun, error) {
		return c.RetryPipelineRun(cmd.Context(), t, id)
	})
	for _, sub := range run.Commands() {
		if sub.Name() != "get" || sub.RunE == nil {
			continue
		}
		tracking := sub.RunE
		sub.Short += "; a pipeline run's DAG with each step's state, duration, cache hit, retries and outputs"
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			t, err := tenant(cmd)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			r, err := c.GetPipelineRun(cmd.Context(), t, args[0])
			var p *v1.Problem
			if errors.As(err, &p) && p.Status == 404 {
				return tracking(cmd, args)
			}
			if err != nil {
				return err
			}
			return printPipelineRun(g, r)
		}
	}
	run.AddCommand(submit, logs, cancel, retry)
	return run
}

func waitPipelineRun(cmd *cobra.Command, c *client.Client, tenant, id string, d time.Duration) (v1.PipelineRun, error) {
	ctx := cmd.Context()
	deadline := time.Now().Add(d)
	last := ""
	for {
		r, err := c.GetPipelineRun(ctx, tenant, id)
		if err != nil {
			return r, err
		}
		if r.State.Done() {
			return r, nil
		}
		if line := progressLine(r); line != last {
			fmt.Fprintln(cmd.ErrOrStderr(), line)
			last = line
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("pipeline run %s is still %s after %s", id, r.State, d)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func progressLine(r v1.PipelineRun) string {
	n := map[v1.PipelineRunState]int{}
	for _, s := range r.Steps {
		n[s.State]++
	}
	return fmt.Sprintf("run %s %s: %d steps (%d running, %d succeeded, %d cached, %d failed)", r.ID, r.State, len(r.Steps),
		n[v1.PipelineRunRunning], n[v1.PipelineRunSucceeded], n[v1.StepCached], n[v1.PipelineRunFailed])
}

// printPipelineRun shows a run and its DAG, one line per step.
func printPipelineRun(g *globals, r v1.PipelineRun) error {
	if g.output != "table" {
		return g.print(r, nil, nil)
	}
	d := "-"
	if r.StartedAt != nil && r.FinishedAt != nil {
		d = r.FinishedAt.Sub(*r.StartedAt).Round(time.Millisecond).String()
	}
	if err := g.table([]string{"RUN", "PIPELINE", "VERSION", "STATE", "DURATION", "REASON"},
		[][]string{{r.ID, r.Pipeline, strconv.FormatInt(r.Version, 10), string(r.State), d, r.Reason}}); err != nil {
		return err
	}
	g.page(v1.PagePipelineRun, r.Tenant, r.ID)
	if len(r.Steps) == 0 {
		return nil
	}
	fmt.Fprintln(g.stdout)
	rows := [][]string{}
	for _, s := range r.Steps {
		dur := "-"
		if s.StartedAt != nil && s.FinishedAt != nil {
			dur = s.FinishedAt.Sub(*s.StartedAt).Round(time.Millisecond).String()
		}
		cache := "-"
		if s.State == v1.StepCached {
			cache = "hit (run " + s.CachedFrom + ")"
		}
		outs := []string{}
		for _, k := range sortedKeys(s.Outputs) {
			v := s.Outputs[k]
			if len(v) > 24 {
				v = v[:24] + "…"
			}
			outs = append(outs, k+"="+v)
		}
		rows = append(rows, []string{s.Name, strings.Join(s.DependsOn, ","), string(s.State), dur, cache, strconv.Itoa(int(s.Attempt)), strings.Join(outs, " "), s.Reason})
	}
	return g.table([]string{"STEP", "AFTER", "STATE", "DURATION", "CACHE", "RETRIES", "OUTPUTS", "REASON"}, rows)
}
