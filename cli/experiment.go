package cli

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

// tenantFlag adds --tenant to cmd and returns a getter that insists on it.
func tenantFlag(cmd *cobra.Command) func() (string, error) {
	var tenant string
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant (required)")
	return func() (string, error) {
		if tenant == "" {
			return "", errors.New("--tenant is required")
		}
		return tenant, nil
	}
}

// tenantClient is the preamble of a tenant-scoped command: the tenant from
// its --tenant flag (tenantFlag) and a client of the API the CLI is logged
// in to.
func tenantClient(g *globals, tenant func() (string, error)) (string, *client.Client, error) {
	t, err := tenant()
	if err != nil {
		return "", nil, err
	}
	c, err := g.client()
	return t, c, err
}

func newExperimentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "experiment", Short: "Experiments of a tenant's tracking (MLflow-compatible)", Aliases: []string{"experiments"}}
	tenant := tenantFlag(cmd)
	list := &cobra.Command{
		Use: "list", Short: "List the tenant's active experiments, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Experiment], error) {
				return c.ListExperiments(ctx, t, o)
			})
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, e := range all {
				rows = append(rows, []string{e.ID, e.Name, e.ArtifactLocation, e.CreatedAt.Format(time.RFC3339)})
			}
			return g.print(v1.List[v1.Experiment]{Items: all}, []string{"ID", "NAME", "ARTIFACTS", "CREATED"}, rows)
		},
	}
	cmd.AddCommand(list)
	return cmd
}
