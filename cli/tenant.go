package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

type tenant struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Quota       struct {
		CPU    string `json:"cpu"`
		Memory string `json:"memory"`
		GPU    int64  `json:"gpu"`
	} `json:"quota"`
	CreatedAt time.Time `json:"createdAt"`
}

type tenantList struct {
	Items []tenant `json:"items"`
	Next  string   `json:"next,omitempty"`
}

func tenantRows(ts ...tenant) [][]string {
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
			quota := map[string]any{}
			if cpu != "" {
				quota["cpu"] = cpu
			}
			if memory != "" {
				quota["memory"] = memory
			}
			if cmd.Flags().Changed("gpu") {
				quota["gpu"] = gpu
			}
			body := map[string]any{"name": args[0], "quota": quota}
			if display != "" {
				body["displayName"] = display
			}
			if owner != "" {
				body["owner"] = owner
			}
			var t tenant
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/tenants", nil, body, &t); err != nil {
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
			all := tenantList{Items: []tenant{}}
			q := url.Values{"limit": {"500"}}
			for {
				var page tenantList
				if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/tenants", q, nil, &page); err != nil {
					return err
				}
				all.Items = append(all.Items, page.Items...)
				if page.Next == "" {
					break
				}
				q.Set("after", page.Next)
			}
			return g.print(all, tenantHeader, tenantRows(all.Items...))
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show a tenant", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var t tenant
			if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/tenants/"+url.PathEscape(args[0]), nil, nil, &t); err != nil {
				return err
			}
			return g.print(t, tenantHeader, tenantRows(t))
		},
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a tenant (admin)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), http.MethodDelete, "/api/v1/tenants/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
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
			body := map[string]any{}
			quota := map[string]any{}
			if uDisplay != "" {
				body["displayName"] = uDisplay
			}
			if uCPU != "" {
				quota["cpu"] = uCPU
			}
			if uMemory != "" {
				quota["memory"] = uMemory
			}
			if cmd.Flags().Changed("gpu") {
				quota["gpu"] = uGPU
			}
			if len(quota) > 0 {
				body["quota"] = quota
			}
			if cmd.Flags().Changed("notebook-idle") {
				if uIdle < 0 {
					return fmt.Errorf("--notebook-idle %s: must not be negative", uIdle)
				}
				body["notebookIdleSeconds"] = int64(uIdle / time.Second)
			}
			if len(body) == 0 {
				return fmt.Errorf("nothing to change: give --display-name, --cpu, --memory, --gpu or --notebook-idle")
			}
			var t tenant
			if err := c.Do(cmd.Context(), http.MethodPatch, "/api/v1/tenants/"+url.PathEscape(args[0]), nil, body, &t); err != nil {
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
	cmd.AddCommand(create, list, get, update, del)
	return cmd
}
