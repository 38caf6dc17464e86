package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

func tokenRow(t v1.Token) []string {
	exp := "never"
	if t.ExpiresAt != nil {
		exp = t.ExpiresAt.Format(time.RFC3339)
	}
	return []string{t.ID, t.Name, t.CreatedAt.Format(time.RFC3339), exp}
}

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage your API tokens", Aliases: []string{"tokens"}}
	var expires string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a token; the secret is printed once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), v1.TokenCreate{Name: args[0], ExpiresIn: expires})
			if err != nil {
				return err
			}
			return g.print(t, []string{"ID", "NAME", "CREATED", "EXPIRES", "SECRET (shown once)"}, [][]string{append(tokenRow(t.Token), t.Secret)})
		},
	}
	create.Flags().StringVar(&expires, "expires-in", "", "lifetime such as 720h (default: no expiry)")
	var listUser, revokeUser string
	list := &cobra.Command{
		Use: "list", Short: "List your live tokens (another user's with --user, admins)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var out v1.List[v1.Token]
			if listUser != "" {
				out, err = c.ListUserTokens(cmd.Context(), listUser)
			} else {
				out, err = c.ListTokens(cmd.Context())
			}
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, t := range out.Items {
				rows = append(rows, tokenRow(t))
			}
			return g.print(out, []string{"ID", "NAME", "CREATED", "EXPIRES"}, rows)
		},
	}
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke one of your tokens (another user's with --user, admins)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if revokeUser != "" {
				err = c.RevokeUserToken(cmd.Context(), revokeUser, args[0])
			} else {
				err = c.RevokeToken(cmd.Context(), args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "token %s revoked\n", args[0])
			return nil
		},
	}
	list.Flags().StringVar(&listUser, "user", "", "list this user's tokens (admins)")
	revoke.Flags().StringVar(&revokeUser, "user", "", "revoke a token of this user (admins)")
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users (admin)", Aliases: []string{"users"}}
	var admin bool
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a user; its first token is printed once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := c.CreateUser(cmd.Context(), v1.UserCreate{Name: args[0], Admin: admin})
			if err != nil {
				return err
			}
			return g.print(out, []string{"ID", "NAME", "ADMIN", "TOKEN (shown once)"},
				[][]string{{strconv.FormatInt(out.User.ID, 10), out.User.Name, strconv.FormatBool(out.User.Admin), out.Token}})
		},
	}
	create.Flags().BoolVar(&admin, "admin", false, "make the user a platform admin")
	setDisabled := func(use, short string, disabled bool) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var u v1.User
				if disabled {
					u, err = c.DisableUser(cmd.Context(), args[0])
				} else {
					u, err = c.EnableUser(cmd.Context(), args[0])
				}
				if err != nil {
					return err
				}
				return g.print(u, []string{"ID", "NAME", "ADMIN", "DISABLED"},
					[][]string{{strconv.FormatInt(u.ID, 10), u.Name, strconv.FormatBool(u.Admin), strconv.FormatBool(u.Disabled)}})
			},
		}
	}
	cmd.AddCommand(create,
		setDisabled("disable", "Disable a user: its tokens stop working at once", true),
		setDisabled("enable", "Enable a disabled user again", false))
	return cmd
}
