package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

type token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	Secret    string     `json:"secret,omitempty"`
}

func tokenRow(t token) []string {
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
			var t token
			body := map[string]string{"name": args[0]}
			if expires != "" {
				body["expiresIn"] = expires
			}
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/tokens", nil, body, &t); err != nil {
				return err
			}
			return g.print(t, []string{"ID", "NAME", "CREATED", "EXPIRES", "SECRET (shown once)"}, [][]string{append(tokenRow(t), t.Secret)})
		},
	}
	create.Flags().StringVar(&expires, "expires-in", "", "lifetime such as 720h (default: no expiry)")
	list := &cobra.Command{
		Use: "list", Short: "List your live tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var out struct {
				Items []token `json:"items"`
			}
			if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/tokens", nil, nil, &out); err != nil {
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
		Use: "revoke ID", Short: "Revoke one of your tokens", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "token %s revoked\n", args[0])
			return nil
		},
	}
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
			var out struct {
				User struct {
					ID    int64  `json:"id"`
					Name  string `json:"name"`
					Admin bool   `json:"admin"`
				} `json:"user"`
				Token string `json:"token"`
			}
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/users", nil, map[string]any{"name": args[0], "admin": admin}, &out); err != nil {
				return err
			}
			return g.print(out, []string{"ID", "NAME", "ADMIN", "TOKEN (shown once)"},
				[][]string{{strconv.FormatInt(out.User.ID, 10), out.User.Name, strconv.FormatBool(out.User.Admin), out.Token}})
		},
	}
	create.Flags().BoolVar(&admin, "admin", false, "make the user a platform admin")
	cmd.AddCommand(create)
	return cmd
}
