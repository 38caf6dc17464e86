package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

func tenantRows(ts ...v1.Tenant) [][]string {
	rows := make([][]string, 0, len(ts))
	for _, t := range ts {
		rows = append(rows, []string{t.Name, t.DisplayName, t.Quota.CPU, t.Quota.Memory, strconv.FormatInt(t.Quota.GPU, 10), t.CreatedAt.Format(time.RFC3339)})
	}
	return rows
}

var tenantHeader = []string{"NAME", "DISPLAY NAME", "CPU", "MEMORY", "GPU", "CREATED"}

func newTenantCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage tenants (teams)", Aliases: []string{"tenants"}}

	var display, cpu, memory, owner string
	var gpu int64
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a tenant (admin)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			in := v1.TenantCreate{Name: args[0], DisplayName: display, Owner: owner, Quota: v1.QuotaChange{CPU: cpu, Memory: memory}}
			if cmd.Flags().Changed("gpu") {
				in.Quota.GPU = &gpu
			}
			t, err := c.CreateTenant(cmd.Context(), in)
			if err != nil {
				return err
			}
			return g.print(t, tenantHeader, tenantRows(t))
		},
	}
	create.Flags().StringVar(&display, "display-name", "", "human-readable name")
	create.Flags().StringVar(&cpu, "cpu", "", "CPU quota (Kubernetes quantity, default 4)")
	create.Flags().StringVar(&memory, "memory", "", "memory quota (Kubernetes quantity, default 8Gi)")
	create.Flags().Int64Var(&gpu, "gpu", 0, "GPU quota (count of nvidia.com/gpu)")
	create.Flags().StringVar(&owner, "owner", "", "user to make owner")

	list := &cobra.Command{
		Use: "list", Short: "List the tenants you can see", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), c.ListTenants)
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.Tenant]{Items: all}, tenantHeader, tenantRows(all...))
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show a tenant", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.GetTenant(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := g.print(t, tenantHeader, tenantRows(t)); err != nil || g.output != "table" {
				return err
			}
			g.page(v1.PageTenant, t.Name)
			q, err := c.TenantQuota(cmd.Context(), t.Name)
			if err != nil {
				return fmt.Errorf("tenant %s's quota use: %w", t.Name, err)
			}
			fmt.Fprintln(g.stdout)
			return g.table(quotaHeader, quotaRows(q))
		},
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a tenant (admin)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteTenant(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "tenant %s deleted\n", args[0])
			return nil
		},
	}
	var uDisplay, uCPU, uMemory string
	var uGPU int64
	var uIdle time.Duration
	update := &cobra.Command{
		Use: "update NAME", Short: "Change a tenant's display name (owner) or quota (admin); queued jobs are admitted again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var in v1.TenantUpdate
			if uDisplay != "" {
				in.DisplayName = &uDisplay
			}
			quota := v1.QuotaChange{CPU: uCPU, Memory: uMemory}
			if cmd.Flags().Changed("gpu") {
				quota.GPU = &uGPU
			}
			if quota != (v1.QuotaChange{}) {
				in.Quota = &quota
			}
			if cmd.Flags().Changed("notebook-idle") {
				if uIdle < 0 {
					return fmt.Errorf("--notebook-idle %s: must not be negative", uIdle)
				}
				idle := int64(uIdle / time.Second)
				in.NotebookIdleSeconds = &idle
			}
			if in == (v1.TenantUpdate{}) {
				return fmt.Errorf("nothing to change: give --display-name, --cpu, --memory, --gpu or --notebook-idle")
			}
			t, err := c.UpdateTenant(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.print(t, tenantHeader, tenantRows(t))
		},
	}
	update.Flags().StringVar(&uDisplay, "display-name", "", "human-readable name")
	update.Flags().StringVar(&uCPU, "cpu", "", "CPU quota")
	update.Flags().StringVar(&uMemory, "memory", "", "memory quota")
	update.Flags().Int64Var(&uGPU, "gpu", 0, "GPU quota")
	update.Flags().DurationVar(&uIdle, "notebook-idle", 0, "stop the tenant's notebooks unused this long (0: never)")
	quota := &cobra.Command{
		Use: "quota NAME", Short: "Show a tenant's quota against what its pods request and use, and what is queued", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			q, err := c.TenantQuota(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(q, quotaHeader, quotaRows(q))
		},
	}
	cmd.AddCommand(create, list, get, update, del, quota)
	return cmd
}
