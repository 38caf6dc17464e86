package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/runtime/notebooks"
	"github.com/ferry-ml/ferry/store"
)

type notebookList struct {
	Items []store.Notebook `json:"items"`
	Next  string           `json:"next,omitempty"`
}

var notebookHeader = []string{"NAME", "STATE", "IMAGE", "CPU", "MEMORY", "GPU", "WORKSPACE", "LAST ACTIVITY", "REASON"}

func notebookRows(ns ...store.Notebook) [][]string {
	rows := make([][]string, 0, len(ns))
	for _, n := range ns {
		rows = append(rows, []string{n.Name, string(n.State), n.Image, n.Resources.CPU, n.Resources.Memory, fmt.Sprint(n.Resources.GPU), n.Workspace,
			n.LastActivity.Format(time.RFC3339), n.Reason})
	}
	return rows
}

func notebookPath(tenant, name string, rest ...string) string {
	p := "/api/v1/tenants/" + url.PathEscape(tenant) + "/notebooks"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func newNotebookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "notebook", Short: "Jupyter notebooks behind the control plane's authenticated proxy", Aliases: []string{"notebooks", "nb"}}
	var tenant string
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant (required)")
	need := func() (*Client, error) {
		if tenant == "" {
			return nil, errors.New("--tenant is required")
		}
		return g.client()
	}
	one := func(method string, rest ...string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			var n store.Notebook
			if err := c.Do(cmd.Context(), method, notebookPath(tenant, args[0], rest...), nil, nil, &n); err != nil {
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
			body := map[string]any{"name": args[0], "image": image, "workspace": workspace, "resources": map[string]any{"cpu": cpu, "memory": memory, "gpu": gpu}}
			var n store.Notebook
			if err := c.Do(cmd.Context(), http.MethodPost, notebookPath(tenant, ""), nil, body, &n); err != nil {
				return err
			}
			return g.print(n, notebookHeader, notebookRows(n))
		},
	}
	create.Flags().StringVar(&image, "image", "", "image with Jupyter (required; ferry workload-image tag)")
	create.Flags().StringVar(&cpu, "cpu", "1", "CPU")
	create.Flags().StringVar(&memory, "memory", "2Gi", "memory")
	create.Flags().Int64Var(&gpu, "gpu", 0, "GPUs")
	create.Flags().StringVar(&workspace, "workspace", "1Gi", "workspace volume size")
	_ = create.MarkFlagRequired("image")
	list := &cobra.Command{
		Use: "list", Short: "List the tenant's notebooks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			var page notebookList
			if err := c.Do(cmd.Context(), http.MethodGet, notebookPath(tenant, ""), url.Values{"limit": {"1000"}}, nil, &page); err != nil {
				return err
			}
			return g.print(page, notebookHeader, notebookRows(page.Items...))
		},
	}
	get := &cobra.Command{Use: "get NAME", Short: "Show a notebook", Args: cobra.ExactArgs(1), RunE: one(http.MethodGet)}
	stop := &cobra.Command{Use: "stop NAME", Short: "Stop a notebook; its workspace is kept", Args: cobra.ExactArgs(1), RunE: one(http.MethodPost, "stop")}
	start := &cobra.Command{Use: "start NAME", Short: "Start a stopped notebook", Args: cobra.ExactArgs(1), RunE: one(http.MethodPost, "start")}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a notebook and its workspace", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), http.MethodDelete, notebookPath(tenant, args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "notebook %s deleted\n", args[0])
			return nil
		},
	}
	open := &cobra.Command{
		Use:   "open NAME",
		Short: "Print the notebook's URL, with a one-time token hand-over for the browser",
		Long: "The URL carries your token once: the proxy trades it for a cookie scoped to this notebook's path and\n" +
			"redirects to the plain URL. Treat the printed URL like the token.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := need()
			if err != nil {
				return err
			}
			var n store.Notebook
			if err := c.Do(cmd.Context(), http.MethodGet, notebookPath(tenant, args[0]), nil, nil, &n); err != nil {
				return err
			}
			u := c.Server + notebooks.BasePath(tenant, n.Name) + "tree?" + url.Values{"token": {c.Token}}.Encode()
			fmt.Fprintln(g.stdout, u)
			if n.State != store.NotebookRunning {
				fmt.Fprintf(g.stderr, "notebook %s is %s; opening the URL starts it\n", n.Name, n.State)
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, get, stop, start, del, open)
	return cmd
}
