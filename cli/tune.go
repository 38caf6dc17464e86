package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

var tuningHeader = []string{"NAME", "STATE", "ALGORITHM", "TRIALS", "RUNNING", "PRUNED", "FAILED", "BEST", "REASON"}

func tuningRows(ts ...v1.Tuning) [][]string {
	rows := make([][]string, 0, len(ts))
	for _, t := range ts {
		best := "-"
		if t.Best != nil && t.Best.Value != nil {
			best = fmt.Sprintf("t%d %s=%g", t.Best.Number, t.Spec.Objective.Metric, *t.Best.Value)
		}
		rows = append(rows, []string{t.Name, string(t.State), t.Spec.Algorithm, fmt.Sprintf("%d/%d", t.Trials.Total, t.Spec.MaxTrials),
			strconv.Itoa(t.Trials.Running), strconv.Itoa(t.Trials.Pruned), strconv.Itoa(t.Trials.Failed), best, dash(t.Reason)})
	}
	return rows
}

var trialHeader = []string{"TRIAL", "STATE", "VALUE", "STEP", "PARAMS", "JOB", "RUN", "REASON"}

func trialRows(trs ...v1.Trial) [][]string {
	rows := make([][]string, 0, len(trs))
	for _, tr := range trs {
		value, step := "-", "-"
		if tr.Value != nil {
			value = strconv.FormatFloat(*tr.Value, 'g', 6, 64)
		}
		if tr.Step != nil {
			step = strconv.FormatInt(*tr.Step, 10)
		}
		rows = append(rows, []string{strconv.Itoa(tr.Number), string(tr.State), value, step, paramText(tr.Params), tr.Job, dash(tr.RunID), dash(tr.Reason)})
	}
	return rows
}

func paramText(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + p[k]
	}
	return strings.Join(parts, ",")
}

func newTuneCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tune", Short: "Hyperparameter tuning: trials are training jobs, searched by random, grid or TPE", Aliases: []string{"tuning"}}
	tenant := tenantFlag(cmd)
	// withClient runs fn with the tenant and a client.
	withClient := func(fn func(ctx context.Context, c *client.Client, tenant string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			return fn(cmd.Context(), c, t)
		}
	}
	var file string
	create := &cobra.Command{
		Use: "create -f SPEC", Short: "Start a tuning from its spec", Args: cobra.NoArgs,
		Long: "The spec is YAML or JSON (apiVersion ferry.dev/v1, kind Tuning): name, objective, parameters, algorithm, " +
			"maxTrials, parallelTrials, earlyStopping, seed and the trial template, a job in which ${params.NAME} is replaced. " +
			"Its JSON Schema is served at " + v1.Prefix + "/schemas/TuningSpec.json.",
		RunE: withClient(func(ctx context.Context, c *client.Client, t string) error {
			if file == "" {
				return errors.New("-f SPEC is required (a YAML or JSON file, - for stdin)")
			}
			text, err := readSpec(file)
			if err != nil {
				return err
			}
			tu, err := c.CreateTuning(ctx, t, v1.TuningCreate{YAML: string(text)})
			if err != nil {
				return err
			}
			return g.print(tu, tuningHeader, tuningRows(tu))
		}),
	}
	create.Flags().StringVarP(&file, "file", "f", "", "the spec, YAML or JSON (- for stdin)")
	list := &cobra.Command{
		Use: "list", Short: "List a tenant's tunings", Args: cobra.NoArgs,
		RunE: withClient(func(ctx context.Context, c *client.Client, t string) error {
			all, err := client.Collect(ctx, func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Tuning], error) {
				return c.ListTunings(ctx, t, o)
			})
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.Tuning]{Items: all}, tuningHeader, tuningRows(all...))
		}),
	}
	get := &cobra.Command{Use: "get NAME", Short: "Show a tuning with its best trial", Args: cobra.ExactArgs(1)}
	get.RunE = func(cmd *cobra.Command, args []string) error {
		return withClient(func(ctx context.Context, c *client.Client, t string) error {
			tu, err := c.GetTuning(ctx, t, args[0])
			if err != nil {
				return err
			}
			if err := g.print(tu, tuningHeader, tuningRows(tu)); err != nil {
				return err
			}
			g.page(v1.PageTuning, t, tu.Name)
			return nil
		})(cmd, args)
	}
	trials := &cobra.Command{Use: "trials NAME", Short: "List a tuning's trials: parameters, state, value, job and run", Args: cobra.ExactArgs(1)}
	trials.RunE = func(cmd *cobra.Command, args []string) error {
		return withClient(func(ctx context.Context, c *client.Client, t string) error {
			all, err := client.Collect(ctx, func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Trial], error) {
				return c.ListTuningTrials(ctx, t, args[0], o)
			})
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.Trial]{Items: all}, trialHeader, trialRows(all...))
		})(cmd, args)
	}
	stop := &cobra.Command{Use: "stop NAME", Short: "Stop a tuning: no new trials, running ones cancelled", Args: cobra.ExactArgs(1)}
	stop.RunE = func(cmd *cobra.Command, args []string) error {
		return withClient(func(ctx context.Context, c *client.Client, t string) error {
			tu, err := c.StopTuning(ctx, t, args[0])
			if err != nil {
				return err
			}
			return g.print(tu, tuningHeader, tuningRows(tu))
		})(cmd, args)
	}
	best := newTuneBestCmd(withClient, g)
	cmd.AddCommand(create, list, get, trials, stop, best)
	return cmd
}

// tuneBest is `ferry tune best`: the best trial, and with RegisterAs its
// model registered as a new version of that model.
type tuneBest struct {
	Tenant     string
	Tuning     string
	RegisterAs string
	ModelPath  string
}

// tuneBestResult is what `best` prints.
type tuneBestResult struct {
	Tuning string           `json:"tuning"`
	Metric string           `json:"metric"`
	Trial  v1.Trial         `json:"trial"`
	Model  *v1.ModelVersion `json:"model,omitempty"`
}

// Run reads the best trial and registers its model when asked.
func (a tuneBest) Run(ctx context.Context, c *client.Client) (tuneBestResult, error) {
	tu, err := c.GetTuning(ctx, a.Tenant, a.Tuning)
	if err != nil {
		return tuneBestResult{}, err
	}
	tr, err := c.BestTrial(ctx, a.Tenant, a.Tuning)
	if err != nil {
		return tuneBestResult{}, err
	}
	out := tuneBestResult{Tuning: a.Tuning, Metric: tu.Spec.Objective.Metric, Trial: tr}
	if a.RegisterAs == "" {
		return out, nil
	}
	v, err := c.RegisterModelVersion(ctx, a.Tenant, a.RegisterAs, v1.ModelVersionCreate{RunID: tr.RunID, Path: a.ModelPath,
		Description: fmt.Sprintf("best trial %d of tuning %s (%s)", tr.Number, a.Tuning, paramText(tr.Params))})
	if err != nil {
		return out, fmt.Errorf("register the model of trial %d (run %s) as %s: %w", tr.Number, tr.RunID, a.RegisterAs, err)
	}
	out.Model = &v
	return out, nil
}

func newTuneBestCmd(withClient func(func(context.Context, *client.Client, string) error) func(*cobra.Command, []string) error, g *globals) *cobra.Command {
	var a tuneBest
	cmd := &cobra.Command{
		Use: "best NAME [--register-as MODEL]", Short: "Name the best trial, its parameters and run; optionally register its model", Args: cobra.ExactArgs(1),
		Long: "With --register-as MODEL the best trial's model (the directory --model-path of its run's artifacts, default model) " +
			"becomes a new version of MODEL in the tenant's registry.",
	}
	cmd.Flags().StringVar(&a.RegisterAs, "register-as", "", "register the best trial's model as a new version of this model")
	cmd.Flags().StringVar(&a.ModelPath, "model-path", "model", "the model's directory in the run's artifacts")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withClient(func(ctx context.Context, c *client.Client, t string) error {
			a.Tenant, a.Tuning = t, args[0]
			res, err := a.Run(ctx, c)
			if err != nil {
				return err
			}
			value := "-"
			if res.Trial.Value != nil {
				value = strconv.FormatFloat(*res.Trial.Value, 'g', -1, 64)
			}
			row := []string{strconv.Itoa(res.Trial.Number), res.Metric + "=" + value, paramText(res.Trial.Params), res.Trial.Job, res.Trial.RunID, "-"}
			if res.Model != nil {
				row[5] = fmt.Sprintf("%s/%d", a.RegisterAs, res.Model.Version)
			}
			return g.print(res, []string{"TRIAL", "VALUE", "PARAMS", "JOB", "RUN", "MODEL"}, [][]string{row})
		})(cmd, args)
	}
	return cmd
}
