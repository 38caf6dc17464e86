package cli

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

type member struct {
	Tenant string `json:"tenant"`
	User   string `json:"user"`
	Role   string `json:"role"`
}

func newMemberCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "member", Short: "Manage who may use a tenant", Aliases: []string{"members"}}
	var role string
	add := &cobra.Command{
		Use: "add TENANT USER --role owner|editor|viewer", Short: "Give a user a role in a tenant (owner)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var m member
			path := "/api/v1/tenants/" + url.PathEscape(args[0]) + "/members/" + url.PathEscape(args[1])
			if err := c.Do(cmd.Context(), http.MethodPut, path, nil, map[string]string{"role": role}, &m); err != nil {
				return err
			}
			return g.print(m, []string{"TENANT", "USER", "ROLE"}, [][]string{{m.Tenant, m.User, m.Role}})
		},
	}
	add.Flags().StringVar(&role, "role", "viewer", "owner, editor or viewer")
	_ = add.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{"owner", "editor", "viewer"}, cobra.ShellCompDirectiveNoFileComp))
	remove := &cobra.Command{
		Use: "remove TENANT USER", Short: "Remove a user's role in a tenant (owner)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			path := "/api/v1/tenants/" + url.PathEscape(args[0]) + "/members/" + url.PathEscape(args[1])
			if err := c.Do(cmd.Context(), http.MethodDelete, path, nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "removed %s from %s\n", args[1], args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use: "list TENANT", Short: "List a tenant's members", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var out struct {
				Items []member `json:"items"`
			}
			if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/tenants/"+url.PathEscape(args[0])+"/members", nil, nil, &out); err != nil {
				return err
			}
			rows := [][]string{}
			for _, m := range out.Items {
				rows = append(rows, []string{m.Tenant, m.User, m.Role})
			}
			return g.print(out, []string{"TENANT", "USER", "ROLE"}, rows)
		},
	}
	cmd.AddCommand(add, remove, list)
	return cmd
}
