package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

var scheduleHeader = []string{"NAME", "PIPELINE", "CRON", "TIMEZONE", "POLICY", "PAUSED", "NEXT", "LAST RUN"}

func scheduleRows(ss ...v1.Schedule) [][]string {
	rows := make([][]string, 0, len(ss))
	for _, s := range ss {
		rows = append(rows, []string{s.Name, s.Pipeline, s.Cron, s.Timezone, s.Policy, fmt.Sprint(s.Paused), s.NextAt.Format(time.RFC3339), s.LastRun})
	}
	return rows
}

func newScheduleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Schedules: runs of a pipeline on a cron", Aliases: []string{"schedules"}}
	tenant := tenantFlag(cmd)
	var in v1.ScheduleCreate
	var params []string
	create := &cobra.Command{
		Use: "create NAME --pipeline P --cron EXPR", Short: "Schedule runs of a pipeline (no catch-up of missed ticks)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenant()
			if err != nil {
				return err
			}
			in.Name = args[0]
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return fmt.Errorf("-p %q: write NAME=VALUE", p)
				}
				if in.Parameters == nil {
					in.Parameters = map[string]string{}
				}
				in.Parameters[k] = v
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.CreateSchedule(cmd.Context(), t, in)
			if err != nil {
				return err
			}
			return g.print(s, scheduleHeader, scheduleRows(s))
		},
	}
	create.Flags().StringVar(&in.Pipeline, "pipeline", "", "the pipeline to run")
	create.Flags().StringVar(&in.Cron, "cron", "", "five cron fields or @hourly, @daily, @every 10m")
	create.Flags().StringVar(&in.Timezone, "timezone", "", "IANA time zone of the cron (default UTC)")
	create.Flags().StringVar(&in.Policy, "policy", "", "Allow, Forbid (default) or Replace: a tick while a run is active")
	create.Flags().Int64Var(&in.Version, "version", 0, "the pipeline version (default: the latest at each tick)")
	create.Flags().StringArrayVarP(&params, "param", "p", nil, "a parameter value, NAME=VALUE")
	list := &cobra.Command{
		Use: "list", Short: "List a tenant's schedules", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			all, err := client.Collect(cmd.Context(), func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Schedule], error) {
				return c.ListSchedules(ctx, t, o)
			})
			if err != nil {
				return err
			}
			return g.print(v1.List[v1.Schedule]{Items: all}, scheduleHeader, scheduleRows(all...))
		},
	}
	verb := func(use, short string, f func(c *client.Client, ctx context.Context, t, name string) (v1.Schedule, error)) *cobra.Command {
		return &cobra.Command{Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				t, c, err := tenantClient(g, tenant)
				if err != nil {
					return err
				}
				s, err := f(c, cmd.Context(), t, args[0])
				if err != nil {
					return err
				}
				if s.Name == "" {
					fmt.Fprintf(g.stdout, "schedule %s deleted\n", args[0])
					return nil
				}
				return g.print(s, scheduleHeader, scheduleRows(s))
			}}
	}
	pause := verb("pause", "Pause a schedule", func(c *client.Client, ctx context.Context, t, n string) (v1.Schedule, error) {
		return c.PauseSchedule(ctx, t, n)
	})
	resume := verb("resume", "Resume a schedule from its next tick", func(c *client.Client, ctx context.Context, t, n string) (v1.Schedule, error) {
		return c.ResumeSchedule(ctx, t, n)
	})
	del := verb("delete", "Delete a schedule (its runs stay)", func(c *client.Client, ctx context.Context, t, n string) (v1.Schedule, error) {
		return v1.Schedule{}, c.DeleteSchedule(ctx, t, n)
	})
	cmd.AddCommand(create, list, pause, resume, del)
	return cmd
}
