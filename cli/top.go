package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

func newTopCmd(g *globals) *cobra.Command {
	var tenant string
	var limit int
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Show what every job, notebook, pipeline step and serving revision uses now, against its request",
		Long: "Like kubectl top, but per ferry object: the sum over its pods of CPU, memory working set and GPU\n" +
			"(where the node exposes it), as last sampled from the kubelets (every 15 s by default), heaviest\n" +
			"CPU first. Without --tenant: every tenant you are a member of (all for admins).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			top, err := c.Top(cmd.Context(), v1.TopOptions{Tenant: tenant, Limit: limit})
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(top.Items))
			for _, u := range top.Items {
				cur := v1.ResourceUse{}
				if u.Current != nil {
					cur = *u.Current
				}
				rows = append(rows, []string{u.Tenant, string(u.Kind), u.Name, strconv.FormatInt(u.Pods, 10),
					cpu(cur.CPUMillicores), cpu(u.Request.CPUMillicores), bytesIEC(cur.MemoryBytes), bytesIEC(u.Request.MemoryBytes),
					gpuUse(cur.GPUPercent, u.Request.GPU), strconv.FormatInt(u.Request.GPU, 10)})
			}
			if err := g.print(top, []string{"TENANT", "KIND", "NAME", "PODS", "CPU", "CPU REQ", "MEMORY", "MEM REQ", "GPU", "GPU REQ"}, rows); err != nil {
				return err
			}
			if g.output == "table" {
				switch {
				case top.SampledAt == nil:
					fmt.Fprintln(g.stderr, "no sample yet: the server samples only with Kubernetes access")
				case top.Stale:
					fmt.Fprintf(g.stderr, "stale: the last sample is from %s (no sampler runs?)\n", top.SampledAt.Format(time.RFC3339))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant's objects")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many objects (server default 200, at most 1000)")
	return cmd
}

// printUsage shows an object's current, average and peak use against its
// request under what `get` printed; nothing when no use was sampled.
func (g *globals) printUsage(ctx context.Context, c *client.Client, tenant string, kind v1.WorkloadKind, name string) error {
	u, err := c.WorkloadUsage(ctx, tenant, kind, name, v1.UsageOptions{})
	var p *v1.Problem
	if errors.As(err, &p) && p.Status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s's use: %w", kind, name, err)
	}
	fmt.Fprintln(g.stdout)
	pick := func(r *v1.ResourceUse, f func(v1.ResourceUse) string) string {
		if r == nil {
			return "-"
		}
		return f(*r)
	}
	cpuOf := func(r v1.ResourceUse) string { return cpu(r.CPUMillicores) }
	memOf := func(r v1.ResourceUse) string { return bytesIEC(r.MemoryBytes) }
	gpuOf := func(r v1.ResourceUse) string { return strconv.FormatInt(r.GPUPercent, 10) + "%" }
	rows := [][]string{
		{"cpu", pick(u.Current, cpuOf), pick(u.Average, cpuOf), pick(u.Peak, cpuOf), cpu(u.Request.CPUMillicores), share(u.Peak, func(r v1.ResourceUse) int64 { return r.CPUMillicores }, u.Request.CPUMillicores)},
		{"memory", pick(u.Current, memOf), pick(u.Average, memOf), pick(u.Peak, memOf), bytesIEC(u.Request.MemoryBytes), share(u.Peak, func(r v1.ResourceUse) int64 { return r.MemoryBytes }, u.Request.MemoryBytes)},
	}
	if u.Request.GPU > 0 || (u.Peak != nil && u.Peak.GPUPercent > 0) {
		rows = append(rows, []string{"gpu", pick(u.Current, gpuOf), pick(u.Average, gpuOf), pick(u.Peak, gpuOf), strconv.FormatInt(u.Request.GPU, 10),
			share(u.Peak, func(r v1.ResourceUse) int64 { return r.GPUPercent }, 100*u.Request.GPU)})
	}
	if err := g.table([]string{"USE", "CURRENT", "AVERAGE", "PEAK", "REQUEST", "PEAK/REQUEST"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%d samples since %s\n", u.Samples, u.FirstSeen.Format(time.RFC3339))
	return nil
}

// share is the peak as a percentage of the request ("-" without either).
func share(peak *v1.ResourceUse, f func(v1.ResourceUse) int64, request int64) string {
	if peak == nil || request <= 0 {
		return "-"
	}
	return strconv.FormatInt(f(*peak)*100/request, 10) + "%"
}

// cpu writes millicores as Kubernetes does: 250m, 1, 1.5.
func cpu(m int64) string {
	if m < 1000 {
		return strconv.FormatInt(m, 10) + "m"
	}
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(float64(m)/1000, 'f', 2, 64), "0"), ".")
}

// bytesIEC writes bytes with a binary unit: 512Ki, 356Mi, 2.5Gi.
func bytesIEC(b int64) string {
	units := []string{"", "Ki", "Mi", "Gi", "Ti", "Pi"}
	v, i := float64(b), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(b, 10)
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + units[i]
}

// gpuUse is the accelerators' summed duty cycle, "-" where none is exposed.
func gpuUse(percent, request int64) string {
	if percent == 0 && request == 0 {
		return "-"
	}
	return strconv.FormatInt(percent, 10) + "%"
}
