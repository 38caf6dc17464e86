package cli

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

var artifactLineageHeader = []string{"ROLE", "RUN", "PIPELINE RUN", "STEP", "JOB", "PATH"}

func artifactLineageRows(l v1.ArtifactLineage) [][]string {
	var rows [][]string
	add := func(role string, rs []v1.LineageRun) {
		for _, r := range rs {
			rows = append(rows, []string{role, r.RunID, dash(r.PipelineRun), dash(r.Step), dash(r.Job), r.Path})
		}
	}
	add("produced", l.ProducedBy)
	add("consumed", l.ConsumedBy)
	for _, m := range l.Models {
		rows = append(rows, []string{"model", dash(m.RunID), "-", "-", "-", fmt.Sprintf("%s/%d", m.Model, m.Version)})
	}
	return rows
}

var modelLineageHeader = []string{"DEPTH", "STEP", "PIPELINE RUN", "STATE", "INPUTS", "UPSTREAM"}

func modelLineageRows(l v1.ModelVersionLineage) [][]string {
	rows := make([][]string, 0, len(l.Steps))
	for _, s := range l.Steps {
		var in []string
		for n, d := range s.Inputs {
			in = append(in, n+"="+d)
		}
		sort.Strings(in)
		state := string(s.State)
		if s.CachedFrom != "" {
			state += " (run " + s.CachedFrom + ")"
		}
		rows = append(rows, []string{strconv.Itoa(s.Depth), s.Step, s.PipelineRun, state, dash(strings.Join(in, ",")), dash(strings.Join(s.Upstream, ","))})
	}
	return rows
}

// madeByText says in words what a lineage run is the run of.
func madeByText(r v1.LineageRun) string {
	switch {
	case r.RunID == "":
		return "no run recorded"
	case r.Step != "":
		return fmt.Sprintf("run %s of step %s of pipeline %s (run %s)", r.RunID, r.Step, r.Pipeline, r.PipelineRun)
	case r.Job != "":
		return fmt.Sprintf("run %s of job %s", r.RunID, r.Job)
	}
	return "run " + r.RunID
}

func newLineageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "lineage", Short: "Which runs produced and consumed an artifact; what made a model version"}
	tenant := tenantFlag(cmd)
	artifact := &cobra.Command{
		Use: "artifact SHA256", Short: "The runs (pipeline steps, jobs) that produced and consumed an artifact, and the model versions holding it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			l, err := c.ArtifactLineage(cmd.Context(), t, args[0])
			if err != nil {
				return err
			}
			if err := g.print(l, artifactLineageHeader, artifactLineageRows(l)); err != nil || g.output != "table" || !l.Truncated {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, "(more runs hold it than are listed)")
			return err
		},
	}
	var o v1.LineageOptions
	model := &cobra.Command{
		Use: "model NAME/VERSION", Short: "What made a model version, and the pipeline steps upstream of it with their input artifacts", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenant()
			if err != nil {
				return err
			}
			i := strings.LastIndexByte(args[0], '/')
			var version int64
			if i > 0 {
				version, err = strconv.ParseInt(args[0][i+1:], 10, 64)
			}
			if i <= 0 || err != nil || version < 1 {
				return fmt.Errorf("%q: write NAME/VERSION, e.g. digits/3", args[0])
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ModelVersionLineage(cmd.Context(), t, args[0][:i], version, o)
			if err != nil {
				return err
			}
			if g.output != "table" {
				return g.print(l, nil, nil)
			}
			fmt.Fprintf(g.stdout, "%s/%d: made by %s\n", printable(l.Model), l.Version, printable(madeByText(l.MadeBy)))
			if len(l.Steps) == 0 {
				return nil
			}
			fmt.Fprintln(g.stdout)
			if err := g.table(modelLineageHeader, modelLineageRows(l)); err != nil {
				return err
			}
			if l.Truncated {
				fmt.Fprintln(g.stdout, "(the walk stopped at --depth or --steps)")
			}
			return nil
		},
	}
	model.Flags().IntVar(&o.Depth, "depth", 0, fmt.Sprintf("follow upstream steps at most this far (default %d, at most %d)", v1.LineageDefaultDepth, v1.LineageMaxDepth))
	model.Flags().IntVar(&o.Steps, "steps", 0, fmt.Sprintf("list at most this many steps (default %d, at most %d)", v1.LineageDefaultSteps, v1.LineageMaxSteps))
	cmd.AddCommand(artifact, model)
	return cmd
}
