package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/store"
)

type jobList struct {
	Items []store.Job `json:"items"`
	Next  int64       `json:"next,omitempty"`
}

var jobHeader = []string{"NAME", "STATE", "REPLICAS", "IMAGE", "SUBMITTED", "REASON"}

func jobRows(js ...store.Job) [][]string {
	rows := make([][]string, 0, len(js))
	for _, j := range js {
		running := 0
		for _, r := range j.Replicas {
			if r.Phase == "Running" || r.Phase == "Succeeded" {
				running++
			}
		}
		rows = append(rows, []string{j.Name, string(j.State), fmt.Sprintf("%d/%d", running, j.Spec.Replicas), j.Spec.Image,
			j.CreatedAt.Format(time.RFC3339), j.Reason})
	}
	return rows
}

func jobPath(tenant, name string, rest ...string) string {
	p := "/api/v1/tenants/" + url.PathEscape(tenant) + "/jobs"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func newJobCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "job", Short: "Run training jobs on the cluster", Aliases: []string{"jobs"}}
	var tenant string
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant (required)")
	need := func() error {
		if tenant == "" {
			return errors.New("--tenant is required")
		}
		return nil
	}

	var image, cpu, memory string
	var replicas, retries int32
	var gpu int64
	var env []string
	var wait time.Duration
	submit := &cobra.Command{
		Use:   "submit NAME --image IMAGE [flags] -- COMMAND [ARG...]",
		Short: "Submit a job; it starts when every replica fits the tenant's quota and the cluster",
		Long: "Each replica runs COMMAND with WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT set (PyTorch DDP's\n" +
			"convention). A job that does not fit waits, queued with the reason, and starts when room appears.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			envMap := map[string]string{}
			for _, kv := range env {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--env %q: want NAME=VALUE", kv)
				}
				envMap[k] = v
			}
			body := map[string]any{"name": args[0], "image": image, "command": args[1:], "replicas": replicas,
				"resources": map[string]any{"cpu": cpu, "memory": memory, "gpu": gpu}, "env": envMap, "maxRetries": retries}
			var j store.Job
			if err := c.Do(cmd.Context(), http.MethodPost, jobPath(tenant, ""), nil, body, &j); err != nil {
				return err
			}
			if wait > 0 {
				if j, err = waitJob(cmd.Context(), c, tenant, j.Name, wait); err != nil {
					return err
				}
			}
			if err := g.print(j, jobHeader, jobRows(j)); err != nil {
				return err
			}
			if wait > 0 && j.State != store.JobSucceeded {
				return fmt.Errorf("job %s %s: %s", j.Name, j.State, j.Reason)
			}
			return nil
		},
	}
	submit.Flags().StringVar(&image, "image", "", "container image (required)")
	submit.Flags().Int32Var(&replicas, "replicas", 1, "replicas (ranks)")
	submit.Flags().StringVar(&cpu, "cpu", "1", "CPU per replica")
	submit.Flags().StringVar(&memory, "memory", "1Gi", "memory per replica")
	submit.Flags().Int64Var(&gpu, "gpu", 0, "GPUs per replica")
	submit.Flags().Int32Var(&retries, "max-retries", 0, "pod failures tolerated before the job fails")
	submit.Flags().StringArrayVar(&env, "env", nil, "NAME=VALUE for every replica (repeatable)")
	submit.Flags().DurationVar(&wait, "wait", 0, "wait this long for the job to finish; fail unless it succeeds")
	_ = submit.MarkFlagRequired("image")

	list := &cobra.Command{
		Use: "list", Short: "List the tenant's jobs in submission order", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			all := jobList{Items: []store.Job{}}
			q := url.Values{"limit": {"500"}}
			for {
				var page jobList
				if err := c.Do(cmd.Context(), http.MethodGet, jobPath(tenant, ""), q, nil, &page); err != nil {
					return err
				}
				all.Items = append(all.Items, page.Items...)
				if page.Next == 0 {
					break
				}
				q.Set("after", strconv.FormatInt(page.Next, 10))
			}
			return g.print(all, jobHeader, jobRows(all.Items...))
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show a job, its replicas and their state", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var j store.Job
			if err := c.Do(cmd.Context(), http.MethodGet, jobPath(tenant, args[0]), nil, nil, &j); err != nil {
				return err
			}
			if g.output != "table" {
				return g.print(j, nil, nil)
			}
			if err := g.table(jobHeader, jobRows(j)); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout)
			rows := [][]string{}
			for _, r := range j.Replicas {
				code := "-"
				if r.ExitCode != nil {
					code = strconv.Itoa(int(*r.ExitCode))
				}
				rows = append(rows, []string{strconv.Itoa(int(r.Index)), r.Phase, r.Pod, r.Node, strconv.Itoa(int(r.Restarts)), code, strconv.FormatBool(r.LogSaved)})
			}
			return g.table([]string{"RANK", "PHASE", "POD", "NODE", "RESTARTS", "EXIT", "LOG SAVED"}, rows)
		},
	}
	cancel := &cobra.Command{
		Use: "cancel NAME", Short: "Cancel a job: its pods stop, its logs so far are kept", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var j store.Job
			if err := c.Do(cmd.Context(), http.MethodPost, jobPath(tenant, args[0], "cancel"), nil, nil, &j); err != nil {
				return err
			}
			return g.print(j, jobHeader, jobRows(j))
		},
	}
	var replica int32
	var follow bool
	logs := &cobra.Command{
		Use: "logs NAME", Short: "Print a replica's log (kept after its pod and job are gone); -f follows it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			q := url.Values{"replica": {strconv.Itoa(int(replica))}}
			if follow {
				q.Set("follow", "true")
			}
			return c.Stream(cmd.Context(), jobPath(tenant, args[0], "logs"), q, g.stdout)
		},
	}
	logs.Flags().Int32Var(&replica, "replica", 0, "replica index (rank)")
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing while the replica runs")
	cmd.AddCommand(submit, list, get, cancel, logs)
	return cmd
}

// waitJob polls a job until it is finished or the time is up.
func waitJob(ctx context.Context, c *Client, tenant, name string, d time.Duration) (store.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		var j store.Job
		if err := c.Do(ctx, http.MethodGet, jobPath(tenant, name), nil, nil, &j); err != nil {
			return j, err
		}
		if j.State.Done() {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, fmt.Errorf("job %s still %s after %s (%s)", name, j.State, d, j.Reason)
		case <-time.After(time.Second):
		}
	}
}

// Stream copies a text answer to w as it arrives (no overall timeout).
func (c *Client) Stream(ctx context.Context, path string, query url.Values, w io.Writer) error {
	u := c.Server + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := (&http.Client{Transport: c.HTTP.Transport}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the ferry server at %s: %w", c.Server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		ae := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) != nil || (ae.Title == "" && ae.Detail == "") {
			ae.Title = strings.TrimSpace(firstLine(string(data)))
		}
		return ae
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
