package api

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// Tracking and the registry in ferry's contract, read-only: writes go
// through the MLflow-compatible API (runtime/mlflow) that training code uses.

type trackingListInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor `query:"after" maxLength:"20" doc:"cursor: the next value of the previous page"`
}

type runListInput struct {
	Tenant     string    `path:"tenant" maxLength:"57"`
	Limit      int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After      v1.Cursor `query:"after" maxLength:"20" doc:"cursor: the next value of the previous page"`
	Experiment string    `query:"experiment" maxLength:"20" default:"0" doc:"experiment id (default 0, the tenant's Default)"`
}

type runInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Run    string `path:"run" maxLength:"32"`
}

type modelInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Model  string `path:"model" maxLength:"256"`
}

type modelVersionsInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Model  string    `path:"model" maxLength:"256"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor `query:"after" maxLength:"20" doc:"cursor: the next value of the previous page"`
}

type modelVersionInput struct {
	Tenant  string `path:"tenant" maxLength:"57"`
	Model   string `path:"model" maxLength:"256"`
	Version int64  `path:"version" minimum:"1" doc:"the version's number"`
}

type experimentListOutput struct{ Body v1.List[v1.Experiment] }
type runListOutput struct{ Body v1.List[v1.Run] }
type runOutput struct{ Body v1.Run }
type modelListOutput struct{ Body v1.List[v1.RegisteredModel] }
type modelOutput struct{ Body v1.RegisteredModel }
type modelVersionListOutput struct{ Body v1.List[v1.ModelVersion] }
type modelVersionOutput struct{ Body v1.ModelVersion }

func ms(t int64) time.Time { return time.UnixMilli(t).UTC() }

func kvMap(kvs []store.KV) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func toExperiment(e store.Experiment) v1.Experiment {
	return v1.Experiment{ID: strconv.FormatInt(e.ID, 10), Name: e.Name, ArtifactLocation: e.ArtifactLocation, LifecycleStage: e.LifecycleStage,
		Tags: kvMap(e.Tags), CreatedAt: ms(e.CreationTime), UpdatedAt: ms(e.LastUpdateTime)}
}

func metricValue(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return v
}

func toRun(r store.Run) v1.Run {
	out := v1.Run{ID: r.Info.ID, ExperimentID: strconv.FormatInt(r.Info.ExperimentID, 10), Name: r.Info.Name, User: r.Info.UserID,
		Status: r.Info.Status, LifecycleStage: r.Info.LifecycleStage, StartTime: ms(r.Info.StartTime), ArtifactURI: r.Info.ArtifactURI,
		ParentRunID: r.Info.ParentRunID, Params: kvMap(r.Params), Tags: kvMap(r.Tags)}
	if r.Info.EndTime != nil {
		t := ms(*r.Info.EndTime)
		out.EndTime = &t
	}
	for _, m := range r.Metrics {
		out.Metrics = append(out.Metrics, v1.MetricValue{Key: m.Key, Value: metricValue(m.Value), Step: m.Step, Timestamp: m.Timestamp})
	}
	return out
}

func toModelVersion(v store.ModelVersion) v1.ModelVersion {
	return v1.ModelVersion{Model: v.Name, Version: v.Version, Source: v.Source, RunID: v.RunID, Status: v.Status, Description: v.Description,
		Aliases: v.Aliases, Tags: kvMap(v.Tags), CreatedBy: v.UserID, CreatedAt: ms(v.CreationTimestamp), UpdatedAt: ms(v.LastUpdatedTimestamp)}
}

func toRegisteredModel(m store.RegisteredModel) v1.RegisteredModel {
	out := v1.RegisteredModel{Name: m.Name, Description: m.Description, Tags: kvMap(m.Tags), CreatedBy: m.UserID,
		CreatedAt: ms(m.CreationTimestamp), UpdatedAt: ms(m.LastUpdatedTimestamp)}
	if len(m.Aliases) > 0 {
		out.Aliases = map[string]int64{}
		for _, a := range m.Aliases {
			out.Aliases[a.Alias] = a.Version
		}
	}
	for _, v := range m.LatestVersions {
		out.LatestVersion = max(out.LatestVersion, v.Version)
	}
	return out
}

// offsetPage is a page whose cursor is the offset of the next one.
func offsetPage[R, T any](rows []R, off, limit int, f func(R) T) v1.List[T] {
	l := v1.List[T]{Items: []T{}}
	if len(rows) > limit {
		rows, l.Next = rows[:limit], v1.Cursor(strconv.Itoa(off+limit))
	}
	for _, r := range rows {
		l.Items = append(l.Items, f(r))
	}
	return l
}

func (s *Server) trackingRoutes() {
	s.trackingWriteRoutes()
	register(s, huma.Operation{OperationID: "listExperiments", Method: http.MethodGet, Path: v1.PathExperiments, Tags: []string{"tracking"},
		Summary: "List a tenant's active experiments, newest first"},
		func(ctx context.Context, in *trackingListInput) (*experimentListOutput, error) {
			out := &experimentListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				off, err := idCursor(in.After)
				if err != nil {
					return err
				}
				es, err := tx.SearchExperiments(ctx, store.ExperimentQuery{Tenant: in.Tenant, Offset: int(off), Limit: in.Limit + 1})
				out.Body = offsetPage(es, int(off), in.Limit, toExperiment)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "listRuns", Method: http.MethodGet, Path: v1.PathRuns, Tags: []string{"tracking"},
		Summary: "List an experiment's active runs, newest first"},
		func(ctx context.Context, in *runListInput) (*runListOutput, error) {
			out := &runListOutput{}
			exp, err := strconv.ParseInt(in.Experiment, 10, 64)
			if err != nil || exp < 0 {
				return nil, fieldError("query.experiment", in.Experiment, errNotCursor)
			}
			err = s.read(ctx, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleViewer); err != nil {
					return err
				}
				off, err := idCursor(in.After)
				if err != nil {
					return err
				}
				runs, err := tx.SearchRuns(ctx, store.RunQuery{Tenant: in.Tenant, ExperimentIDs: []int64{exp}, Offset: int(off), Limit: in.Limit + 1})
				out.Body = offsetPage(runs, int(off), in.Limit, toRun)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "getRun", Method: http.MethodGet, Path: v1.PathRun, Tags: []string{"tracking"},
		Summary: "Read a run with its params, tags and latest metrics"},
		func(ctx context.Context, in *runInput) (*runOutput, error) {
			out := &runOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				r, err := tx.Run(ctx, in.Tenant, in.Run)
				out.Body = toRun(r)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "listModels", Method: http.MethodGet, Path: v1.PathModels, Tags: []string{"registry"},
		Summary: "List a tenant's registered models by name"},
		func(ctx context.Context, in *trackingListInput) (*modelListOutput, error) {
			out := &modelListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				off, err := idCursor(in.After)
				if err != nil {
					return err
				}
				m, err := tx.SearchRegisteredModels(ctx, store.ModelQuery{Tenant: in.Tenant, Offset: int(off), Limit: in.Limit + 1})
				out.Body = offsetPage(m, int(off), in.Limit, toRegisteredModel)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "getModel", Method: http.MethodGet, Path: v1.PathModel, Tags: []string{"registry"},
		Summary: "Read a registered model with its aliases"},
		func(ctx context.Context, in *modelInput) (*modelOutput, error) {
			out := &modelOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				m, err := tx.RegisteredModel(ctx, in.Tenant, in.Model)
				out.Body = toRegisteredModel(m)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "listModelVersions", Method: http.MethodGet, Path: v1.PathModelVersions, Tags: []string{"registry"},
		Summary: "List a registered model's versions, newest first"},
		func(ctx context.Context, in *modelVersionsInput) (*modelVersionListOutput, error) {
			out := &modelVersionListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				if _, err := tx.RegisteredModel(ctx, in.Tenant, in.Model); err != nil {
					return err
				}
				off, err := idCursor(in.After)
				if err != nil {
					return err
				}
				vs, err := tx.SearchModelVersions(ctx, store.ModelQuery{Tenant: in.Tenant, Offset: int(off), Limit: in.Limit + 1,
					Filters: []store.Filter{{Kind: store.FilterAttribute, Key: "name", Op: "=", Value: in.Model}}})
				if err != nil {
					return err
				}
				out.Body = offsetPage(vs, int(off), in.Limit, toModelVersion)
				for i := range out.Body.Items {
					if err := withMadeBy(ctx, tx, in.Tenant, &out.Body.Items[i]); err != nil {
						return err
					}
				}
				return nil
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "getModelVersion", Method: http.MethodGet, Path: v1.PathModelVersion, Tags: []string{"registry"},
		Summary: "Read one version of a registered model, with the job or pipeline step that made it"},
		func(ctx context.Context, in *modelVersionInput) (*modelVersionOutput, error) {
			out := &modelVersionOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				v, err := tx.ModelVersion(ctx, in.Tenant, in.Model, in.Version)
				if err != nil {
					return err
				}
				out.Body = toModelVersion(v)
				return withMadeBy(ctx, tx, in.Tenant, &out.Body)
			})
			return out, err
		})
}

// withMadeBy fills in a version's lineage: the job or pipeline step whose run made it.
func withMadeBy(ctx context.Context, tx *store.Tx, tenant string, v *v1.ModelVersion) error {
	by, _, err := madeBy(ctx, tx, tenant, v.RunID)
	if err != nil {
		return err
	}
	v.Job, v.PipelineRun, v.Step = by.Job, by.PipelineRun, by.Step
	return nil
}
