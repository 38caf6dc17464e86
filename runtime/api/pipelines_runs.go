package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/pipelines"
	"github.com/ferry-ml/ferry/store"
)

// PipelineRunner runs pipeline runs on a cluster (the pipelines engine).
type PipelineRunner interface {
	// Poke asks for a pass over the active runs soon.
	Poke()
	// WriteStepLogs writes a step's log: the saved copy once its pod has
	// ended, the live one before (following it with follow).
	WriteStepLogs(ctx context.Context, r store.PipelineRun, step string, follow bool, w io.Writer) error
}

type pipelineRunSubmitInput struct {
	Tenant   string `path:"tenant" maxLength:"57"`
	Pipeline string `path:"pipeline" maxLength:"52"`
	Body     v1.PipelineRunSubmit
}

type pipelineRunInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Run    string `path:"run" maxLength:"32"`
}

type pipelineRunOutput struct{ Body v1.PipelineRun }

type pipelineRunListInput struct {
	Tenant   string              `path:"tenant" maxLength:"57"`
	Pipeline string              `query:"pipeline" maxLength:"52" doc:"only the runs of this pipeline"`
	State    v1.PipelineRunState `query:"state" enum:"pending,running,succeeded,failed,cancelled," doc:"only the runs in this state"`
	Limit    int                 `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After    v1.Cursor           `query:"after" maxLength:"256" doc:"keyset cursor: the next value of the previous page"`
}

type pipelineRunListOutput struct {
	Body v1.List[v1.PipelineRun]
}

type pipelineStepLogsInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Run    string `path:"run" maxLength:"32"`
	Step   string `path:"step" maxLength:"64" doc:"a step, or step[i] for an item of a fan-out"`
	Follow bool   `query:"follow" doc:"keep streaming while the step runs"`
}

func toPipelineRun(r store.PipelineRun, steps []store.PipelineStep, deps map[string][]string) v1.PipelineRun {
	out := v1.PipelineRun{ID: r.RunID, Tenant: r.Tenant, Pipeline: r.Pipeline, Version: r.Version, Parameters: r.Parameters,
		State: v1.PipelineRunState(r.State), Reason: r.Reason, Schedule: r.Schedule, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	for _, s := range steps {
		out.Steps = append(out.Steps, v1.StepRun{Name: s.Name, Step: s.Step, Item: s.Item, State: v1.PipelineRunState(s.State), Reason: s.Reason,
			Attempt: s.Attempt, Pod: s.Pod, RunID: s.ChildRun, CacheKey: s.CacheKey, CachedFrom: s.CachedFrom, Outputs: s.Outputs,
			DependsOn: deps[s.Step], StartedAt: s.StartedAt, FinishedAt: s.FinishedAt})
	}
	return out
}

// pipelineRun reads a run with its steps after checking the caller's role.
func (s *Server) pipelineRun(ctx context.Context, tx *store.Tx, tenant, id string, need store.Role) (store.PipelineRun, v1.PipelineRun, error) {
	if _, err := authorizeTenant(ctx, tx, tenant, need); err != nil {
		return store.PipelineRun{}, v1.PipelineRun{}, err
	}
	r, err := tx.PipelineRun(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, v1.PipelineRun{}, huma.Error404NotFound(fmt.Sprintf("tenant %s has no pipeline run %s", tenant, id))
	}
	if err != nil {
		return r, v1.PipelineRun{}, err
	}
	steps, err := tx.PipelineSteps(ctx, r.ID)
	if err != nil {
		return r, v1.PipelineRun{}, err
	}
	deps := map[string][]string{}
	if v, err := tx.PipelineVersion(ctx, r.PipelineID, r.Version); err == nil {
		var spec v1.PipelineSpec
		if json.Unmarshal([]byte(v.Spec), &spec) == nil {
			if g, err := pipelines.NewGraph(spec); err == nil {
				deps = g.Deps
			}
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return lessStep(steps[i], steps[j]) })
	return r, toPipelineRun(r, steps, deps), nil
}

func lessStep(a, b store.PipelineStep) bool {
	if a.StartedAt != nil && b.StartedAt != nil && !a.StartedAt.Equal(*b.StartedAt) {
		return a.StartedAt.Before(*b.StartedAt)
	}
	if a.Step != b.Step {
		return a.Name < b.Name
	}
	ai, bi := int32(-1), int32(-1)
	if a.Item != nil {
		ai = *a.Item
	}
	if b.Item != nil {
		bi = *b.Item
	}
	return ai < bi
}

// SubmitPipelineRun checks the parameters and quota and stores a pending
// run (its tracking run too); shared by the API and the scheduler.
func SubmitPipelineRun(ctx context.Context, tx *store.Tx, p store.Pipeline, version int64, given map[string]string, schedule, user string) (store.PipelineRun, error) {
	r, spec, err := pipelines.Submit(ctx, tx, p, version, given, schedule, user)
	if err != nil {
		return store.PipelineRun{}, specError(err)
	}
	t, err := tx.Tenant(ctx, p.Tenant)
	if err != nil {
		return store.PipelineRun{}, err
	}
	for i, st := range append(append([]v1.Step{}, spec.Steps...), spec.Finally...) {
		res := pipelines.StepResources(st)
		if err := beyondQuota(fmt.Sprintf("spec.steps[%d].resources", i), t.Quota, store.Resources{CPU: res.CPU, Memory: res.Memory, GPU: res.GPU}, 1); err != nil {
			return store.PipelineRun{}, err
		}
	}
	return r, nil
}

func (s *Server) pokePipelines() {
	if s.cfg.Pipelines != nil {
		s.cfg.Pipelines.Poke()
	}
}

func (s *Server) pipelineRunRoutes() {
	tags := []string{"pipelines"}
	register(s, huma.Operation{OperationID: "submitPipelineRun", Method: http.MethodPost, Path: v1.PathPipelineRuns, Tags: tags,
		Summary: "Run a version of a pipeline with parameter values (editor)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *pipelineRunSubmitInput) (*pipelineRunOutput, error) {
			out := &pipelineRunOutput{}
			err := s.mutate(ctx, in.Tenant, "pipeline/"+in.Pipeline, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
					return err
				}
				p, err := tx.Pipeline(ctx, in.Tenant, in.Pipeline)
				if errors.Is(err, store.ErrNotFound) {
					return huma.Error404NotFound(fmt.Sprintf("tenant %s has no pipeline %s", in.Tenant, in.Pipeline))
				}
				if err != nil {
					return err
				}
				r, err := SubmitPipelineRun(ctx, tx, p, in.Body.Version, in.Body.Parameters, "", caller(ctx).Name)
				out.Body = toPipelineRun(r, nil, nil)
				return err
			})
			if err == nil {
				s.pokePipelines()
			}
			return out, err
		})

	register(s, huma.Operation{OperationID: "listPipelineRuns", Method: http.MethodGet, Path: v1.PathPipelineRunList, Tags: tags,
		Summary: "List a tenant's pipeline runs, newest first"},
		func(ctx context.Context, in *pipelineRunListInput) (*pipelineRunListOutput, error) {
			out := &pipelineRunListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				before, err := idCursor(in.After)
				if err != nil {
					return err
				}
				f := store.PipelineRunFilter{State: string(in.State), Before: before, Limit: in.Limit}
				if in.Pipeline != "" {
					p, err := tx.Pipeline(ctx, in.Tenant, in.Pipeline)
					if errors.Is(err, store.ErrNotFound) {
						out.Body = v1.List[v1.PipelineRun]{Items: []v1.PipelineRun{}}
						return nil
					}
					if err != nil {
						return err
					}
					f.PipelineID = p.ID
				}
				items, err := tx.ListPipelineRuns(ctx, in.Tenant, f)
				out.Body = page(items, in.Limit, func(r store.PipelineRun) v1.PipelineRun { return toPipelineRun(r, nil, nil) },
					func(r store.PipelineRun) string { return strconv.FormatInt(r.ID, 10) })
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getPipelineRun", Method: http.MethodGet, Path: v1.PathPipelineRun, Tags: tags,
		Summary: "Get a pipeline run with its steps (state, attempts, cache hits, outputs)"},
		func(ctx context.Context, in *pipelineRunInput) (*pipelineRunOutput, error) {
			out := &pipelineRunOutput{}
			err := s.read(ctx, func(tx *store.Tx) (err error) {
				_, out.Body, err = s.pipelineRun(ctx, tx, in.Tenant, in.Run, store.RoleViewer)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "cancelPipelineRun", Method: http.MethodPost, Path: v1.PathPipelineRunCncl, Tags: tags,
		Summary: "Cancel a pipeline run (editor): its running pods are deleted, logs so far kept"},
		func(ctx context.Context, in *pipelineRunInput) (*pipelineRunOutput, error) {
			return s.changeRun(ctx, in, func(tx *store.Tx, r store.PipelineRun) error {
				if v1.PipelineRunState(r.State).Done() {
					return huma.Error409Conflict(fmt.Sprintf("pipeline run %s is already %s", r.RunID, r.State))
				}
				_, err := tx.CancelPipelineRun(ctx, r, caller(ctx).Name)
				return err
			})
		})

	register(s, huma.Operation{OperationID: "retryPipelineRun", Method: http.MethodPost, Path: v1.PathPipelineRunRetry, Tags: tags,
		Summary: "Retry a failed or cancelled run from the steps that did not succeed (editor)"},
		func(ctx context.Context, in *pipelineRunInput) (*pipelineRunOutput, error) {
			return s.changeRun(ctx, in, func(tx *store.Tx, r store.PipelineRun) error {
				if r.State != store.PipelineRunFailed && r.State != store.PipelineRunCancelled {
					return huma.Error409Conflict(fmt.Sprintf("pipeline run %s is %s: only failed or cancelled runs are retried", r.RunID, r.State))
				}
				_, err := tx.RetryPipelineRun(ctx, r, caller(ctx).Name)
				return err
			})
		})

	register(s, huma.Operation{OperationID: "pipelineStepLogs", Method: http.MethodGet, Path: v1.PathPipelineStepLogs, Tags: tags,
		Summary: "A step's log (text); kept after its pod is gone"},
		func(ctx context.Context, in *pipelineStepLogsInput) (*huma.StreamResponse, error) {
			var r store.PipelineRun
			var view v1.PipelineRun
			if err := s.read(ctx, func(tx *store.Tx) (err error) {
				r, view, err = s.pipelineRun(ctx, tx, in.Tenant, in.Run, store.RoleViewer)
				return err
			}); err != nil {
				return nil, err
			}
			if s.cfg.Pipelines == nil {
				return nil, huma.Error503ServiceUnavailable("this server runs no pipelines (no Kubernetes access)")
			}
			if u, err := url.PathUnescape(in.Step); err == nil {
				in.Step = u // a router may hand over step[i] still escaped
			}
			found := false
			for _, st := range view.Steps {
				found = found || st.Name == in.Step
			}
			if !found {
				return nil, huma.Error404NotFound(fmt.Sprintf("pipeline run %s has no step %s", in.Run, in.Step))
			}
			if err := s.recordRead(ctx, in.Tenant, store.AccessLog, "", fmt.Sprintf("pipeline-run/%s step %s", in.Run, in.Step)); err != nil {
				return nil, err
			}
			return &huma.StreamResponse{Body: func(hc huma.Context) {
				hc.SetHeader("Content-Type", "text/plain; charset=utf-8")
				w := &flushWriter{w: hc.BodyWriter()}
				if err := s.cfg.Pipelines.WriteStepLogs(hc.Context(), r, in.Step, in.Follow, w); err != nil {
					if !w.wrote {
						hc.SetStatus(http.StatusNotFound)
					}
					fmt.Fprintf(w, "ferry: %v\n", err)
				}
			}}, nil
		})
}

// changeRun applies change to a run in one audited transaction and answers the run after it.
func (s *Server) changeRun(ctx context.Context, in *pipelineRunInput, change func(*store.Tx, store.PipelineRun) error) (*pipelineRunOutput, error) {
	out := &pipelineRunOutput{}
	err := s.mutate(ctx, in.Tenant, "pipeline-run/"+in.Run, func(tx *store.Tx) error {
		r, _, err := s.pipelineRun(ctx, tx, in.Tenant, in.Run, store.RoleEditor)
		if err != nil {
			return err
		}
		if err := change(tx, r); err != nil {
			return err
		}
		_, out.Body, err = s.pipelineRun(ctx, tx, in.Tenant, in.Run, store.RoleEditor)
		return err
	})
	if err == nil {
		s.pokePipelines()
	}
	return out, err
}
