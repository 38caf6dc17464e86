package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

var quotaHeader = []string{"RESOURCE", "QUOTA", "REQUESTED", "FREE", "USED", "QUEUED"}

// quotaRows is a tenant's quota use, one row per resource.
func quotaRows(q v1.QuotaUse) [][]string {
	return [][]string{
		{"cpu", cpu(q.Limit.CPUMillicores), cpu(q.Requested.CPUMillicores), cpu(q.Free.CPUMillicores), cpu(q.Used.CPUMillicores), cpu(q.Queued.Request.CPUMillicores)},
		{"memory", bytesIEC(q.Limit.MemoryBytes), bytesIEC(q.Requested.MemoryBytes), bytesIEC(q.Free.MemoryBytes), bytesIEC(q.Used.MemoryBytes), bytesIEC(q.Queued.Request.MemoryBytes)},
		{"gpu", strconv.FormatInt(q.Limit.GPU, 10), strconv.FormatInt(q.Requested.GPU, 10), strconv.FormatInt(q.Free.GPU, 10), strconv.FormatInt(q.Used.GPUPercent, 10) + "%",
			strconv.FormatInt(q.Queued.Request.GPU, 10)},
		{"jobs queued", "", "", "", "", fmt.Sprintf("%d (%d replicas)", q.Queued.Jobs, q.Queued.Replicas)},
	}
}

// newAuditReadsCmd is `ferry audit reads`: who downloaded a tenant's
// artifacts, model files and logs.
func newAuditReadsCmd(g *globals) *cobra.Command {
	var tenant, actor, kind, after string
	var limit int
	cmd := &cobra.Command{
		Use: "reads --tenant T", Short: "List who read a tenant's artifacts, model files and logs, newest first (owner or admin)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return fmt.Errorf("--tenant is required")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := c.ListReads(cmd.Context(), tenant, v1.ReadsFilter{Actor: actor, Kind: v1.AccessKind(kind)}, v1.ListOptions{Limit: limit, After: v1.Cursor(after)})
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(out.Items))
			for _, a := range out.Items {
				rows = append(rows, []string{a.Time.Format(time.RFC3339), a.Actor, string(a.Kind), a.Object})
			}
			if err := g.print(out, []string{"TIME", "ACTOR", "KIND", "OBJECT"}, rows); err != nil {
				return err
			}
			if out.Next != "" && g.output == "table" {
				fmt.Fprintf(g.stderr, "more rows: --after %s\n", out.Next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant (required)")
	cmd.Flags().StringVar(&actor, "actor", "", "only reads by this user")
	cmd.Flags().StringVar(&kind, "kind", "", "only reads of this kind: artifact, model or log")
	cmd.Flags().StringVar(&after, "after", "", "cursor from the previous page")
	cmd.Flags().IntVar(&limit, "limit", 100, "rows per page (1-1000)")
	return cmd
}
