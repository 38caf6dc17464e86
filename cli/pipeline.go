package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

var pipelineHeader = []string{"NAME", "LATEST", "CREATED BY", "UPDATED"}

func pipelineRows(ps ...v1.Pipeline) [][]string {
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, []string{p.Name, strconv.FormatInt(p.LatestVersion, 10), p.CreatedBy, p.UpdatedAt.Format(time.RFC3339)})
	}
	return rows
}

func newPipelineCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pipeline", Short: "Pipelines: DAGs of container steps, stored with versions", Aliases: []string{"pipelines"}}
	tenant := tenantFlag(cmd)
	var file string
	create := &cobra.Command{
		Use: "create NAME -f SPEC", Short: "Create a pipeline, or add a version when the spec changed", Args: cobra.ExactArgs(1),
		Long: "The spec is YAML or JSON (apiVersion ferry.dev/v1, kind Pipeline); its JSON Schema is served at " +
			v1.Prefix + "/schemas/PipelineSpec.json. A spec identical to the latest version adds none.",
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenant()
			if err != nil {
				return err
			}
			if file == "" {
				return errors.New("-f SPEC is required (a YAML or JSON file, - for stdin)")
			}
			text, err := readSpec(file)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			v, err := c.CreatePipeline(cmd.Context(), t, v1.PipelineCreate{Name: args[0], YAML: string(text)})
			if err != nil {
				return err
			}
			return g.print(v, []string{"PIPELINE", "VERSION", "DIGEST", "STEPS"},
				[][]string{{v.Pipeline, strconv.FormatInt(v.Version, 10), v.Digest[:12], strconv.Itoa(len(v.Spec.Steps) + len(v.Spec.Finally))}})
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "the spec, YAML or JSON (- for stdin)")
	list := &cobra.Command{
		Use: "list", Short: "List a tenant's pipelines", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Pipeline], error) {
				return c.ListPipelines(ctx, t, o)
			})
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.Pipeline]{Items: all}, pipelineHeader, pipelineRows(all...))
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show a pipeline", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			p, err := c.GetPipeline(cmd.Context(), t, args[0])
			if err != nil {
				return err
			}
			if err := g.print(p, pipelineHeader, pipelineRows(p)); err != nil {
				return err
			}
			g.page(v1.PagePipeline, t, p.Name)
			return nil
		},
	}
	versions := &cobra.Command{
		Use: "versions NAME", Short: "List a pipeline's versions, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.PipelineVersion], error) {
				return c.ListPipelineVersions(ctx, t, args[0], o)
			})
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, v := range all {
				rows = append(rows, []string{strconv.FormatInt(v.Version, 10), v.Digest[:12], strconv.Itoa(len(v.Spec.Steps) + len(v.Spec.Finally)), v.CreatedBy, v.CreatedAt.Format(time.RFC3339)})
			}
			return g.print(v1.List[v1.PipelineVersion]{Items: all}, []string{"VERSION", "DIGEST", "STEPS", "CREATED BY", "CREATED"}, rows)
		},
	}
	cmd.AddCommand(create, list, get, versions)
	return cmd
}

// readSpec reads a spec file (- is stdin), bounded by the spec limit.
func readSpec(path string) ([]byte, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = readAllBounded(os.Stdin, v1.MaxPipelineSpecBytes+1)
	} else {
		var f *os.File
		if f, err = os.Open(path); err == nil {
			b, err = readAllBounded(f, v1.MaxPipelineSpecBytes+1)
			f.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read spec %s: %w", path, err)
	}
	if len(b) > v1.MaxPipelineSpecBytes {
		return nil, fmt.Errorf("spec %s is larger than %d bytes", path, v1.MaxPipelineSpecBytes)
	}
	return b, nil
}

func readAllBounded(r io.Reader, n int64) ([]byte, error) { return io.ReadAll(io.LimitReader(r, n)) }
