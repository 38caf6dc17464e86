package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

var jobHeader = []string{"NAME", "STATE", "REPLICAS", "IMAGE", "SUBMITTED", "REASON"}

func jobRows(js ...v1.Job) [][]string {
	rows := make([][]string, 0, len(js))
	for _, j := range js {
		running := 0
		for _, r := range j.Replicas {
			if r.Phase == "Running" || r.Phase == "Succeeded" {
				running++
			}
		}
		rows = append(rows, []string{j.Name, string(j.State), fmt.Sprintf("%d/%d", running, j.Spec.Replicas), j.Spec.Image,
			j.CreatedAt.Format(time.RFC3339), j.Reason})
	}
	return rows
}

func newJobCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "job", Short: "Run training jobs on the cluster", Aliases: []string{"jobs"}}
	var tenant string
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant (required)")
	need := func() error {
		if tenant == "" {
			return errors.New("--tenant is required")
		}
		return nil
	}

	var image, cpu, memory, experiment string
	var replicas, retries int32
	var gpu int64
	var env []string
	var wait time.Duration
	submit := &cobra.Command{
		Use:   "submit NAME --image IMAGE [flags] -- COMMAND [ARG...]",
		Short: "Submit a job; it starts when every replica fits the tenant's quota and the cluster",
		Long: "Each replica runs COMMAND with WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT set (PyTorch DDP's\n" +
			"convention). A job that does not fit waits, queued with the reason, and starts when room appears.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			envMap := map[string]string{}
			for _, kv := range env {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--env %q: want NAME=VALUE", kv)
				}
				envMap[k] = v
			}
			// Only what the user gave: the server fills in the defaults.
			in := v1.JobSubmit{Name: args[0], Image: image, Command: args[1:], Replicas: replicas,
				Resources: v1.Resources{CPU: cpu, Memory: memory, GPU: gpu}}
			if len(envMap) > 0 {
				in.Env = envMap
			}
			if cmd.Flags().Changed("max-retries") {
				in.MaxRetries = &retries
			}
			in.Experiment = experiment
			j, err := c.SubmitJob(cmd.Context(), tenant, in)
			if err != nil {
				return err
			}
			if wait > 0 {
				if j, err = waitJob(cmd.Context(), c, tenant, j.Name, wait); err != nil {
					return err
				}
			}
			if err := g.print(j, jobHeader, jobRows(j)); err != nil {
				return err
			}
			if wait > 0 && j.State != v1.JobSucceeded {
				return fmt.Errorf("job %s %s: %s", j.Name, j.State, j.Reason)
			}
			return nil
		},
	}
	submit.Flags().StringVar(&image, "image", "", "container image (required)")
	submit.Flags().Int32Var(&replicas, "replicas", 0, "replicas (ranks; default 1)")
	submit.Flags().StringVar(&cpu, "cpu", "", "CPU per replica (default 1)")
	submit.Flags().StringVar(&memory, "memory", "", "memory per replica (default 1Gi)")
	submit.Flags().Int64Var(&gpu, "gpu", 0, "GPUs per replica")
	submit.Flags().Int32Var(&retries, "max-retries", 0, "pod failures tolerated before the job fails")
	submit.Flags().StringArrayVar(&env, "env", nil, "NAME=VALUE for every replica (repeatable)")
	submit.Flags().StringVar(&experiment, "experiment", "", "MLflow experiment of the job's run (created when missing; default: Default)")
	submit.Flags().DurationVar(&wait, "wait", 0, "wait this long for the job to finish; fail unless it succeeds")
	_ = submit.MarkFlagRequired("image")

	list := &cobra.Command{
		Use: "list", Short: "List the tenant's jobs in submission order", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Job], error) {
				return c.ListJobs(ctx, tenant, o)
			})
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.Job]{Items: all}, jobHeader, jobRows(all...))
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show a job, its replicas and their state", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.GetJob(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			if g.output != "table" {
				return g.print(j, nil, nil)
			}
			if err := g.table(jobHeader, jobRows(j)); err != nil {
				return err
			}
			g.page(v1.PageJob, tenant, j.Name)
			fmt.Fprintln(g.stdout)
			rows := [][]string{}
			for _, r := range j.Replicas {
				code := "-"
				if r.ExitCode != nil {
					code = strconv.Itoa(int(*r.ExitCode))
				}
				rows = append(rows, []string{strconv.Itoa(int(r.Index)), r.Phase, r.Pod, r.Node, strconv.Itoa(int(r.Restarts)), code, strconv.FormatBool(r.LogSaved)})
			}
			if err := g.table([]string{"RANK", "PHASE", "POD", "NODE", "RESTARTS", "EXIT", "LOG SAVED"}, rows); err != nil {
				return err
			}
			if err := g.printUsage(cmd.Context(), c, tenant, v1.WorkloadJob, j.Name); err != nil {
				return err
			}
			if j.Run == nil {
				return nil
			}
			// The run the job is tracked as: what it logged so far.
			r, err := c.GetRun(cmd.Context(), tenant, j.Run.RunID)
			if err != nil {
				return fmt.Errorf("job %s's run %s: %w", j.Name, j.Run.RunID, err)
			}
			fmt.Fprintln(g.stdout)
			if err := g.table([]string{"RUN", "EXPERIMENT", "STATUS"}, [][]string{{r.ID, r.ExperimentID, r.Status}}); err != nil {
				return err
			}
			kv := [][]string{}
			for _, k := range sortedKeys(r.Params) {
				kv = append(kv, []string{"param", k, r.Params[k]})
			}
			for _, m := range r.Metrics {
				kv = append(kv, []string{"metric", m.Key, fmt.Sprint(m.Value)})
			}
			if len(kv) == 0 {
				return nil
			}
			fmt.Fprintln(g.stdout)
			return g.table([]string{"KIND", "KEY", "VALUE"}, kv)
		},
	}
	cancel := &cobra.Command{
		Use: "cancel NAME", Short: "Cancel a job: its pods stop, its logs so far are kept", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.CancelJob(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			return g.print(j, jobHeader, jobRows(j))
		},
	}
	var replica int32
	var follow bool
	logs := &cobra.Command{
		Use: "logs NAME", Short: "Print a replica's log (kept after its pod and job are gone); -f follows it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.JobLogs(cmd.Context(), tenant, args[0], v1.JobLogOptions{Replica: replica, Follow: follow}, g.stdout)
		},
	}
	logs.Flags().Int32Var(&replica, "replica", 0, "replica index (rank)")
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing while the replica runs")
	cmd.AddCommand(submit, list, get, cancel, logs)
	return cmd
}

// waitJob polls a job until it is finished or the time is up; a job that
// can never run (inadmissible) ends the wait at once with its reason.
func waitJob(ctx context.Context, c *client.Client, tenant, name string, d time.Duration) (v1.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		j, err := c.GetJob(ctx, tenant, name)
		if err != nil {
			return j, err
		}
		if j.State.Done() {
			return j, nil
		}
		if j.State == v1.JobQueued && strings.HasPrefix(j.Reason, v1.JobReasonInadmissible) {
			return j, fmt.Errorf("job %s can never run as asked: %s", name, j.Reason)
		}
		select {
		case <-ctx.Done():
			return j, fmt.Errorf("job %s still %s after %s (%s)", name, j.State, d, j.Reason)
		case <-time.After(time.Second):
		}
	}
}
