package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

var notebookHeader = []string{"NAME", "STATE", "IMAGE", "CPU", "MEMORY", "GPU", "WORKSPACE", "LAST ACTIVITY", "REASON"}

func notebookRows(ns ...v1.Notebook) [][]string {
	rows := make([][]string, 0, len(ns))
	for _, n := range ns {
		rows = append(rows, []string{n.Name, string(n.State), n.Image, n.Resources.CPU, n.Resources.Memory, fmt.Sprint(n.Resources.GPU), n.Workspace,
			n.LastActivity.Format(time.RFC3339), n.Reason})
	}
	return rows
}

func newNotebookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "notebook", Short: "Jupyter notebooks behind the control plane's authenticated proxy", Aliases: []string{"notebooks", "nb"}}
	var tenant string
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant (required)")
	need := func() (*client.Client, error) {
		if tenant == "" {
			return nil, errors.New("--tenant is required")
		}
		return g.client()
	}
	one := func(call func(c *client.Client, ctx context.Context, tenant, name string) (v1.Notebook, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			n, err := call(c, cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			return g.print(n, notebookHeader, notebookRows(n))
		}
	}
	var image, cpu, memory, workspace string
	var gpu int64
	create := &cobra.Command{
		Use: "create NAME --image IMAGE", Short: "Create a notebook (a StatefulSet of one with a workspace volume)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			// Only what the user gave: the server fills in the defaults.
			n, err := c.CreateNotebook(cmd.Context(), tenant, v1.NotebookCreate{Name: args[0], Image: image, Workspace: workspace,
				Resources: v1.Resources{CPU: cpu, Memory: memory, GPU: gpu}})
			if err != nil {
				return err
			}
			return g.print(n, notebookHeader, notebookRows(n))
		},
	}
	create.Flags().StringVar(&image, "image", "", "image with Jupyter (required; ferry workload-image tag)")
	create.Flags().StringVar(&cpu, "cpu", "", "CPU (default 1)")
	create.Flags().StringVar(&memory, "memory", "", "memory (default 2Gi)")
	create.Flags().Int64Var(&gpu, "gpu", 0, "GPUs")
	create.Flags().StringVar(&workspace, "workspace", "", "workspace volume size (default 1Gi)")
	_ = create.MarkFlagRequired("image")
	list := &cobra.Command{
		Use: "list", Short: "List the tenant's notebooks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Notebook], error) {
				return c.ListNotebooks(ctx, tenant, o)
			})
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.Notebook]{Items: all}, notebookHeader, notebookRows(all...))
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show a notebook and what it uses against its request", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			n, err := c.GetNotebook(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			if err := g.print(n, notebookHeader, notebookRows(n)); err != nil || g.output != "table" {
				return err
			}
			g.page(v1.PageNotebook, tenant, n.Name)
			return g.printUsage(cmd.Context(), c, tenant, v1.WorkloadNotebook, n.Name)
		},
	}
	stop := &cobra.Command{Use: "stop NAME", Short: "Stop a notebook; its workspace is kept", Args: cobra.ExactArgs(1), RunE: one((*client.Client).StopNotebook)}
	start := &cobra.Command{Use: "start NAME", Short: "Start a stopped notebook", Args: cobra.ExactArgs(1), RunE: one((*client.Client).StartNotebook)}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a notebook and its workspace", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			if err := c.DeleteNotebook(cmd.Context(), tenant, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "notebook %s deleted\n", args[0])
			return nil
		},
	}
	open := &cobra.Command{
		Use:   "open NAME",
		Short: "Print a one-time URL that opens the notebook in a browser",
		Long: "The URL carries a one-time code (valid for a minute), never your token: the proxy trades it for a\n" +
			"session cookie scoped to this notebook's path, which ends when your token is revoked, and redirects\n" +
			"to the plain URL. Run it again for another browser.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			n, err := c.GetNotebook(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			h, err := c.CreateNotebookSession(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, c.Server()+h.URL)
			if n.State != v1.NotebookRunning {
				fmt.Fprintf(g.stderr, "notebook %s is %s; opening the URL starts it\n", n.Name, n.State)
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, get, stop, start, del, open)
	return cmd
}
