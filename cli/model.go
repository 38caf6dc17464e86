package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

var modelHeader = []string{"NAME", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"}

func modelRows(ms ...v1.RegisteredModel) [][]string {
	rows := make([][]string, 0, len(ms))
	for _, m := range ms {
		var aliases []string
		for a, v := range m.Aliases {
			aliases = append(aliases, fmt.Sprintf("%s=%d", a, v))
		}
		sort.Strings(aliases)
		latest := "-"
		if m.LatestVersion > 0 {
			latest = fmt.Sprint(m.LatestVersion)
		}
		rows = append(rows, []string{m.Name, latest, strings.Join(aliases, ","), m.UpdatedAt.Format(time.RFC3339), m.Description})
	}
	return rows
}

var versionHeader = []string{"VERSION", "STATUS", "RUN", "JOB", "STEP", "ALIASES", "SOURCE", "CREATED"}

func versionRows(vs ...v1.ModelVersion) [][]string {
	rows := make([][]string, 0, len(vs))
	for _, v := range vs {
		step := "-"
		if v.Step != "" {
			step = v.Step + " (pipeline run " + v.PipelineRun + ")"
		}
		rows = append(rows, []string{fmt.Sprint(v.Version), v.Status, v.RunID, dash(v.Job), step, strings.Join(v.Aliases, ","), v.Source, v.CreatedAt.Format(time.RFC3339)})
	}
	return rows
}

// modelVersionArg reads NAME/VERSION (as deploy --model names a version):
// ok when the text after the last slash is a number, which must then be a
// positive one. Anything else is a model's name (names may hold slashes).
func modelVersionArg(arg string) (name string, version int64, ok bool, err error) {
	i := strings.LastIndex(arg, "/")
	if i <= 0 || strings.Trim(arg[i+1:], "+-0123456789") != "" || arg[i+1:] == "" {
		return arg, 0, false, nil
	}
	version, err = strconv.ParseInt(arg[i+1:], 10, 64)
	if err != nil || version < 1 {
		return "", 0, false, fmt.Errorf("version %q of model %s is not a positive number", arg[i+1:], arg[:i])
	}
	return arg[:i], version, true, nil
}

func newModelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "The tenant's model registry (MLflow-compatible)", Aliases: []string{"models"}}
	tenant := tenantFlag(cmd)
	list := &cobra.Command{
		Use: "list", Short: "List registered models by name", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.RegisteredModel], error) {
				return c.ListModels(ctx, t, o)
			})
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.RegisteredModel]{Items: all}, modelHeader, modelRows(all...))
		},
	}
	versions := func(cmd *cobra.Command, t, name string) ([]v1.ModelVersion, error) {
		c, err := g.client()
		if err != nil {
			return nil, err
		}
		return client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.ModelVersion], error) {
			return c.ListModelVersions(ctx, t, name, o)
		})
	}
	get := &cobra.Command{
		Use: "get NAME[/VERSION]", Short: "Show a registered model and its versions, or one version", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			if name, version, ok, err := modelVersionArg(args[0]); ok || err != nil {
				if err != nil {
					return err
				}
				v, err := c.GetModelVersion(cmd.Context(), t, name, version)
				if err != nil {
					return err
				}
				if err := g.print(v, versionHeader, versionRows(v)); err != nil {
					return err
				}
				g.page(v1.PageModelVersion, t, name, strconv.FormatInt(version, 10))
				return nil
			}
			m, err := c.GetModel(cmd.Context(), t, args[0])
			if err != nil {
				return err
			}
			if g.output != "table" {
				return g.print(m, nil, nil)
			}
			vs, err := versions(cmd, t, args[0])
			if err != nil {
				return err
			}
			if err := g.table(modelHeader, modelRows(m)); err != nil {
				return err
			}
			g.page(v1.PageModel, t, m.Name)
			fmt.Fprintln(g.stdout)
			return g.table(versionHeader, versionRows(vs...))
		},
	}
	vers := &cobra.Command{
		Use: "versions NAME", Short: "List a model's versions, newest first, with the run of each", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenant()
			if err != nil {
				return err
			}
			vs, err := versions(cmd, t, args[0])
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.ModelVersion]{Items: vs}, versionHeader, versionRows(vs...))
		},
	}
	var run, dir, description string
	register := &cobra.Command{
		Use: "register NAME --run RUN_ID", Short: "Register a run's model directory as a new version (the model is created when missing)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			v, err := c.RegisterModelVersion(cmd.Context(), t, args[0], v1.ModelVersionCreate{RunID: run, Path: dir, Description: description})
			if err != nil {
				return err
			}
			return g.print(v, versionHeader, versionRows(v))
		},
	}
	register.Flags().StringVar(&run, "run", "", "the run whose artifacts hold the model (required)")
	register.Flags().StringVar(&dir, "path", "", "the model's directory in the run's artifacts (default: model)")
	register.Flags().StringVar(&description, "description", "", "what this version is")
	_ = register.MarkFlagRequired("run")
	alias := &cobra.Command{Use: "alias", Short: "Aliases of a model's versions (models:/NAME@ALIAS)"}
	set := &cobra.Command{
		Use: "set NAME ALIAS VERSION", Short: "Point an alias at a version", Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenant()
			if err != nil {
				return err
			}
			version, err := strconv.ParseInt(args[2], 10, 64)
			if err != nil || version < 1 {
				return fmt.Errorf("version %q is not a positive number", args[2])
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			v, err := c.SetModelAlias(cmd.Context(), t, args[0], args[1], version)
			if err != nil {
				return err
			}
			return g.print(v, versionHeader, versionRows(v))
		},
	}
	del := &cobra.Command{
		Use: "delete NAME ALIAS", Short: "Remove an alias", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			if err := c.DeleteModelAlias(cmd.Context(), t, args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "alias %s of %s deleted\n", args[1], args[0])
			return nil
		},
	}
	alias.AddCommand(set, del)
	cmd.AddCommand(list, get, vers, register, alias)
	return cmd
}
