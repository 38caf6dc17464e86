package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/pipelines"
	"github.com/ferry-ml/ferry/store"
)

type scheduleCreateInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Body   v1.ScheduleCreate
}

type scheduleInput struct {
	Tenant   string `path:"tenant" maxLength:"57"`
	Schedule string `path:"schedule" maxLength:"52"`
}

type scheduleOutput struct{ Body v1.Schedule }

type scheduleListOutput struct{ Body v1.List[v1.Schedule] }

func toSchedule(s store.PipelineSchedule) v1.Schedule {
	return v1.Schedule{Tenant: s.Tenant, Name: s.Name, Pipeline: s.Pipeline, Version: s.Version, Cron: s.Cron, Timezone: s.Timezone, Policy: s.Policy,
		Parameters: s.Parameters, Paused: s.Paused, NextAt: s.NextAt, LastAt: s.LastAt, LastRun: s.LastRun, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt}
}

func (s *Server) scheduleRoutes() {
	tags := []string{"pipelines"}
	register(s, huma.Operation{OperationID: "createSchedule", Method: http.MethodPost, Path: v1.PathSchedules, Tags: tags,
		Summary: "Schedule runs of a pipeline on a cron (editor)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *scheduleCreateInput) (*scheduleOutput, error) {
			out := &scheduleOutput{}
			err := s.mutate(ctx, in.Tenant, "schedule/"+in.Body.Name, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
					return err
				}
				b := in.Body
				if err := ValidateName(b.Name, v1.MaxPipelineName); err != nil {
					return fieldError("body.name", b.Name, err)
				}
				if b.Timezone == "" {
					b.Timezone = "UTC"
				}
				if _, _, err := pipelines.ParseCron(b.Cron, "UTC"); err != nil {
					return fieldError("body.cron", b.Cron, err)
				}
				next, err := pipelines.NextTick(b.Cron, b.Timezone, tx.Now())
				if err != nil {
					return fieldError("body.timezone", b.Timezone, err)
				}
				if b.Policy == "" {
					b.Policy = pipelines.PolicyForbid
				}
				p, err := tx.Pipeline(ctx, in.Tenant, b.Pipeline)
				if errors.Is(err, store.ErrNotFound) {
					return fieldError("body.pipeline", b.Pipeline, fmt.Errorf("tenant %s has no pipeline %s", in.Tenant, b.Pipeline))
				}
				if err != nil {
					return err
				}
				// The parameters must make a run: check them now, not at the first tick.
				if _, _, _, err := pipelines.Resolve(ctx, tx, p, b.Version, b.Parameters); err != nil {
					return specError(err)
				}
				sc, err := tx.CreatePipelineSchedule(ctx, store.PipelineSchedule{Tenant: in.Tenant, Name: b.Name, PipelineID: p.ID, Pipeline: p.Name,
					Version: b.Version, Parameters: b.Parameters, Cron: b.Cron, Timezone: b.Timezone, Policy: b.Policy, NextAt: next, CreatedBy: caller(ctx).Name})
				if errors.Is(err, store.ErrConflict) {
					return conflict("body.name", b.Name, fmt.Sprintf("tenant %s already has a schedule %s", in.Tenant, b.Name))
				}
				out.Body = toSchedule(sc)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "listSchedules", Method: http.MethodGet, Path: v1.PathSchedules, Tags: tags, Summary: "List a tenant's schedules"},
		func(ctx context.Context, in *pipelineListInput) (*scheduleListOutput, error) {
			out := &scheduleListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				items, err := tx.ListPipelineSchedules(ctx, in.Tenant, string(in.After), in.Limit)
				out.Body = page(items, in.Limit, toSchedule, func(s store.PipelineSchedule) string { return s.Name })
				return err
			})
			return out, err
		})
	change := func(id, path, summary string, f func(tx *store.Tx, sc *store.PipelineSchedule) error) {
		register(s, huma.Operation{OperationID: id, Method: http.MethodPost, Path: path, Tags: tags, Summary: summary},
			func(ctx context.Context, in *scheduleInput) (*scheduleOutput, error) {
				out := &scheduleOutput{}
				err := s.mutate(ctx, in.Tenant, "schedule/"+in.Schedule, func(tx *store.Tx) error {
					sc, err := s.schedule(ctx, tx, in)
					if err != nil {
						return err
					}
					if err := f(tx, &sc); err != nil {
						return err
					}
					out.Body = toSchedule(sc)
					return tx.UpdatePipelineSchedule(ctx, sc)
				})
				return out, err
			})
	}
	change("pauseSchedule", v1.PathSchedulePause, "Pause a schedule (editor): no tick starts a run until resumed", func(_ *store.Tx, sc *store.PipelineSchedule) error {
		sc.Paused = true
		return nil
	})
	change("resumeSchedule", v1.PathScheduleResume, "Resume a schedule (editor) from its next tick, without catching up", func(tx *store.Tx, sc *store.PipelineSchedule) error {
		next, err := pipelines.NextTick(sc.Cron, sc.Timezone, tx.Now())
		sc.Paused, sc.NextAt = false, next
		return err
	})
	register(s, huma.Operation{OperationID: "deleteSchedule", Method: http.MethodDelete, Path: v1.PathSchedule, Tags: tags,
		Summary: "Delete a schedule (editor); its runs stay", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *scheduleInput) (*struct{}, error) {
			return nil, s.mutate(ctx, in.Tenant, "schedule/"+in.Schedule, func(tx *store.Tx) error {
				if _, err := s.schedule(ctx, tx, in); err != nil {
					return err
				}
				return tx.DeletePipelineSchedule(ctx, in.Tenant, in.Schedule)
			})
		})
}

func (s *Server) schedule(ctx context.Context, tx *store.Tx, in *scheduleInput) (store.PipelineSchedule, error) {
	if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
		return store.PipelineSchedule{}, err
	}
	sc, err := tx.PipelineSchedule(ctx, in.Tenant, in.Schedule)
	if errors.Is(err, store.ErrNotFound) {
		return sc, huma.Error404NotFound(fmt.Sprintf("tenant %s has no schedule %s", in.Tenant, in.Schedule))
	}
	return sc, err
}
