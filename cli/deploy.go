package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

var deployHeader = []string{"NAME", "REVISION", "MODEL", "ROLE", "WEIGHT", "REPLICAS", "RPS", "ERRORS", "P50", "P99", "REASON"}

func deployRows(ds ...v1.Deployment) [][]string {
	var rows [][]string
	for _, d := range ds {
		for _, r := range d.Revisions {
			if r.Role == v1.RoleRetired {
				continue
			}
			rows = append(rows, []string{d.Name, r.Name, fmt.Sprintf("%s/%d", r.Model, r.Version), r.Role, fmt.Sprintf("%d%%", r.Weight),
				fmt.Sprintf("%d/%d", r.ReadyReplicas, r.Replicas), fmt.Sprintf("%.1f", r.Stats.RPS), fmt.Sprintf("%.1f%%", 100*r.Stats.ErrorRate),
				fmt.Sprintf("%.1fms", r.Stats.P50Ms), fmt.Sprintf("%.1fms", r.Stats.P99Ms), r.Reason})
		}
	}
	return rows
}

func newDeployCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "deploy", Short: "Serve registered models: canaries, automatic rollback, scale to zero", Aliases: []string{"deployment", "deployments"}}
	var tenant string
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant (required)")
	need := func() error {
		if tenant == "" {
			return errors.New("--tenant is required")
		}
		return nil
	}
	show := func(cmd *cobra.Command, d v1.Deployment) error {
		if err := g.print(d, deployHeader, deployRows(d)); err != nil {
			return err
		}
		if g.output == "table" {
			fmt.Fprintf(g.stdout, "\nURL  %s\n", deployURL(g, d))
			g.page(v1.PageDeployment, d.Tenant, d.Name)
		}
		if g.output == "table" && len(d.Events) > 0 {
			fmt.Fprintln(g.stdout, "\nEVENTS")
			for _, e := range d.Events {
				fmt.Fprintf(g.stdout, "%s  %-10s %s\n", e.At.Format("15:04:05"), e.Kind, e.Message)
			}
		}
		return nil
	}

	var model, runtime, image string
	var rollout, updateRollout rolloutFlags
	var cpu, memory, startupCPU string
	var port, minR, maxR, conc, idle int32
	create := &cobra.Command{
		Use: "create NAME --model M@alias|M/VERSION", Short: "Serve a model version (a revision: a Deployment and a Service in the tenant's namespace)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			in := v1.DeploymentCreate{Name: args[0], Model: model, Runtime: runtime, Image: image, Port: port, Concurrency: conc, IdleSeconds: idle,
				Resources: v1.Resources{CPU: cpu, Memory: memory}, StartupCPU: startupCPU}
			if p := rollout.policy(cmd); p != nil {
				in.Rollout = *p
			}
			if cmd.Flags().Changed("min") {
				in.Min = &minR
			}
			if cmd.Flags().Changed("max") {
				in.Max = &maxR
			}
			d, err := c.CreateDeployment(cmd.Context(), tenant, in)
			if err != nil {
				return err
			}
			return show(cmd, d)
		},
	}
	create.Flags().StringVar(&model, "model", "", "NAME/VERSION or NAME@ALIAS (required)")
	create.Flags().StringVar(&runtime, "runtime", "", "sklearn (default) or custom")
	create.Flags().StringVar(&image, "image", "", "the custom runtime's image")
	create.Flags().Int32Var(&port, "port", 0, "the custom runtime's port (default 8080)")
	create.Flags().Int32Var(&minR, "min", 1, "fewest replicas (0: scale to zero when idle)")
	create.Flags().Int32Var(&maxR, "max", 4, "most replicas")
	create.Flags().Int32Var(&conc, "concurrency", 0, "in-flight requests per replica to aim at (default 4)")
	create.Flags().Int32Var(&idle, "idle", 0, "seconds idle before scaling to zero (default 300)")
	_ = create.MarkFlagRequired("model")
	create.Flags().StringVar(&cpu, "cpu", "", "CPU per replica (default 500m)")
	create.Flags().StringVar(&memory, "memory", "", "memory per replica (default 512Mi)")
	create.Flags().StringVar(&startupCPU, "startup-cpu", "", "CPU a replica has while it starts, resized in place to --cpu once it is ready (default 1 for sklearn, within the tenant's quota; none for custom)")
	rollout.register(create)

	update := &cobra.Command{
		Use: "update NAME --model M/VERSION [--weight W]", Short: "Roll out a new version as a canary (or change scaling)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			in := v1.DeploymentUpdate{Model: model, Concurrency: conc, Rollout: updateRollout.policy(cmd)}
			for flag, dst := range map[string]**int32{"min": &in.Min, "max": &in.Max, "idle": &in.IdleSeconds, "weight": &in.CanaryWeight} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetInt32(flag)
					*dst = &v
				}
			}
			if cmd.Flags().Changed("startup-cpu") {
				v, _ := cmd.Flags().GetString("startup-cpu")
				in.StartupCPU = &v
			}
			d, err := c.UpdateDeployment(cmd.Context(), tenant, args[0], in)
			if err != nil {
				return err
			}
			return show(cmd, d)
		},
	}
	update.Flags().StringVar(&model, "model", "", "the new version: NAME/VERSION or NAME@ALIAS")
	update.Flags().Int32("weight", 10, "the canary's share of requests, percent")
	update.Flags().Int32("min", 0, "fewest replicas")
	update.Flags().Int32("max", 0, "most replicas")
	update.Flags().Int32("idle", 0, "seconds idle before scaling to zero")
	update.Flags().Int32Var(&conc, "concurrency", 0, "in-flight requests per replica")
	update.Flags().String("startup-cpu", "", "CPU a new replica has while it starts (\"\": no boost; pods boosted now go back to --cpu)")
	updateRollout.register(update)

	simple := func(use, short string, f func(cmd *cobra.Command, name string) (v1.Deployment, error)) *cobra.Command {
		return &cobra.Command{Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := need(); err != nil {
					return err
				}
				d, err := f(cmd, args[0])
				if err != nil {
					return err
				}
				return show(cmd, d)
			}}
	}
	get := simple("get", "Show revisions, weights, replicas, request and error rates, p50/p99 and decisions", func(cmd *cobra.Command, name string) (v1.Deployment, error) {
		c, err := g.client()
		if err != nil {
			return v1.Deployment{}, err
		}
		return c.GetDeployment(cmd.Context(), tenant, name)
	})
	promote := simple("promote", "Make the canary stable at 100%", func(cmd *cobra.Command, name string) (v1.Deployment, error) {
		c, err := g.client()
		if err != nil {
			return v1.Deployment{}, err
		}
		return c.PromoteDeployment(cmd.Context(), tenant, name)
	})
	rollback := simple("rollback", "Roll the canary back, or return to the previous stable revision", func(cmd *cobra.Command, name string) (v1.Deployment, error) {
		c, err := g.client()
		if err != nil {
			return v1.Deployment{}, err
		}
		return c.RollbackDeployment(cmd.Context(), tenant, name)
	})
	list := &cobra.Command{Use: "list", Short: "List the tenant's deployments", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListDeployments(cmd.Context(), tenant, v1.ListOptions{Limit: 1000})
			if err != nil {
				return err
			}
			return g.print(l, deployHeader, deployRows(l.Items...))
		}}
	del := &cobra.Command{Use: "delete NAME", Short: "Delete a deployment, its revisions and keys", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteDeployment(cmd.Context(), tenant, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "deployment %s deleted\n", args[0])
			return nil
		}}
	var keyName string
	key := &cobra.Command{Use: "key NAME", Short: "Make an API key for this deployment only (shown once)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.CreateDeploymentKey(cmd.Context(), tenant, args[0], v1.APIKeyCreate{Name: keyName})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "key %s: store it now, it is not shown again\n", k.ID)
			fmt.Fprintln(g.stdout, strings.TrimSpace(k.Secret))
			return nil
		}}
	key.Flags().StringVar(&keyName, "name", "", "what the key is for")
	cmd.AddCommand(create, update, get, list, promote, rollback, del, key)
	return cmd
}

// deployURL is where a deployment answers: under the context's gateway
// when `ferry up` (or login --gateway) recorded one, else its path.
func deployURL(g *globals, d v1.Deployment) string {
	if c, err := g.apiContext(); err == nil && c.Gateway != "" {
		return c.Gateway + d.URL
	}
	return d.URL + " (under the serving gateway)"
}

// rolloutFlags are a canary's policy on the command line.
type rolloutFlags struct {
	step, bake        int32
	maxErrors, maxP99 float64
	minRequests       int64
}

func (r *rolloutFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Int32Var(&r.step, "step", 0, "canary: weight added per step after each bake (default 20; 0 with --manual)")
	f.Bool("manual", false, "canary: never advance by itself, only ferry deploy promote (step 0)")
	f.Int32Var(&r.bake, "bake", 0, "canary: seconds at each weight before the next step (default 60)")
	f.Float64Var(&r.maxErrors, "max-error-delta", 0, "canary: error rate it may exceed stable's by, 0-1 (default 0.05)")
	f.Float64Var(&r.maxP99, "max-p99-ratio", 0, "canary: p99 it may reach in times stable's (default 2)")
	f.Int64Var(&r.minRequests, "min-requests", 0, "canary: requests before it is judged (default 20)")
}

// policy is the rollout policy the flags ask for, nil when none was given.
func (r *rolloutFlags) policy(cmd *cobra.Command) *v1.RolloutPolicy {
	changed := false
	for _, n := range []string{"step", "manual", "bake", "max-error-delta", "max-p99-ratio", "min-requests"} {
		changed = changed || cmd.Flags().Changed(n)
	}
	if !changed {
		return nil
	}
	p := &v1.RolloutPolicy{StepWeight: r.step, BakeSeconds: r.bake, MaxErrorRateDelta: r.maxErrors, MaxP99Ratio: r.maxP99, MinRequests: r.minRequests}
	if manual, _ := cmd.Flags().GetBool("manual"); manual {
		// Step 0 with bake 0 reads as "defaults" to the API; a bake keeps it manual.
		p.StepWeight, p.BakeSeconds = 0, max(p.BakeSeconds, 60)
	}
	return p
}
