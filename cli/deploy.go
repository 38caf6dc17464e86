package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

var deployHeader = []string{"NAME", "REVISION", "MODEL", "ROLE", "WEIGHT", "REPLICAS", "RPS", "ERRORS", "P50", "P99"}

func deployRows(ds ...v1.Deployment) [][]string {
	var rows [][]string
	for _, d := range ds {
		for _, r := range d.Revisions {
			if r.Role == v1.RoleRetired {
				continue
			}
			rows = append(rows, []string{d.Name, r.Name, fmt.Sprintf("%s/%d", r.Model, r.Version), r.Role, fmt.Sprintf("%d%%", r.Weight),
				fmt.Sprintf("%d/%d", r.ReadyReplicas, r.Replicas), fmt.Sprintf("%.1f", r.Stats.RPS), fmt.Sprintf("%.1f%%", 100*r.Stats.ErrorRate),
				fmt.Sprintf("%.1fms", r.Stats.P50Ms), fmt.Sprintf("%.1fms", r.Stats.P99Ms)})
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
		if g.output == "table" && len(d.Events) > 0 {
			fmt.Fprintln(g.stdout, "\nEVENTS")
			for _, e := range d.Events {
				fmt.Fprintf(g.stdout, "%s  %-10s %s\n", e.At.Format("15:04:05"), e.Kind, e.Message)
			}
		}
		return nil
	}

	var model, runtime, image string
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
			in := v1.DeploymentCreate{Name: args[0], Model: model, Runtime: runtime, Image: image, Port: port, Concurrency: conc, IdleSeconds: idle}
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
			in := v1.DeploymentUpdate{Model: model, Concurrency: conc}
			for flag, dst := range map[string]**int32{"min": &in.Min, "max": &in.Max, "idle": &in.IdleSeconds, "weight": &in.CanaryWeight} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetInt32(flag)
					*dst = &v
				}
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
