package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read and verify the audit log"}
	var tenantF, actor, after string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List audit rows, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := c.ListAudit(cmd.Context(), v1.AuditFilter{Tenant: tenantF, Actor: actor}, v1.ListOptions{Limit: limit, After: v1.Cursor(after)})
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, e := range out.Items {
				rows = append(rows, []string{strconv.FormatInt(e.ID, 10), e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Tenant, e.Target, e.Result})
			}
			if err := g.print(out, []string{"ID", "TIME", "ACTOR", "ACTION", "TENANT", "TARGET", "RESULT"}, rows); err != nil {
				return err
			}
			if out.Next != "" && g.output == "table" {
				fmt.Fprintf(g.stderr, "more rows: --after %s\n", out.Next)
			}
			return nil
		},
	}
	list.Flags().StringVar(&tenantF, "tenant", "", "only rows about this tenant")
	list.Flags().StringVar(&actor, "actor", "", "only rows by this user")
	list.Flags().StringVar(&after, "after", "", "cursor from the previous page")
	list.Flags().IntVar(&limit, "limit", 50, "rows per page (1-1000)")
	verify := &cobra.Command{
		Use: "verify", Short: "Verify the hash chain and the latest signed checkpoint; exits 2 when it is broken (admin)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			row := []string{strconv.FormatBool(out.OK), "", strings.Join(out.Problems, "; ")}
			if out.BrokenAt != 0 {
				row[1] = strconv.FormatInt(out.BrokenAt, 10)
			}
			if err := g.print(out, []string{"OK", "BROKEN AT", "PROBLEMS"}, [][]string{row}); err != nil {
				return err
			}
			if !out.OK {
				msg := "audit chain broken"
				if out.BrokenAt != 0 {
					msg += " at row " + strconv.FormatInt(out.BrokenAt, 10)
				}
				if len(out.Problems) > 0 {
					msg += ": " + strings.Join(out.Problems, "; ")
				}
				return &ExitError{Code: 2, Err: errors.New(msg)}
			}
			return nil
		},
	}
	cmd.AddCommand(list, verify, newAuditReadsCmd(g))
	return cmd
}
