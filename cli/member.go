package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

func memberRows(ms ...v1.Member) [][]string {
	rows := [][]string{}
	for _, m := range ms {
		rows = append(rows, []string{m.Tenant, m.User, string(m.Role)})
	}
	return rows
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
			m, err := c.PutMember(cmd.Context(), args[0], args[1], v1.Role(role))
			if err != nil {
				return err
			}
			return g.print(m, []string{"TENANT", "USER", "ROLE"}, memberRows(m))
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
			if err := c.RemoveMember(cmd.Context(), args[0], args[1]); err != nil {
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
			out, err := c.ListMembers(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(out, []string{"TENANT", "USER", "ROLE"}, memberRows(out.Items...))
		},
	}
	cmd.AddCommand(add, remove, list)
	return cmd
}
