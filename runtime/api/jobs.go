package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/go-containerregistry/pkg/name"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// JobRunner runs submitted jobs on a cluster (the jobs controller).
type JobRunner interface {
	// Poke asks for a pass over the jobs soon.
	Poke()
	// Cancel stops a job and marks it cancelled.
	// Cancel stops a job and marks it cancelled; record writes the audit
	// row in the transaction of that change.
	Cancel(ctx context.Context, j store.Job, by string, record func(*store.Tx) error) (store.Job, error)
	// WriteLogs writes a replica's log: the saved copy once the pod has
	// ended, the live one before (following it with follow).
	WriteLogs(ctx context.Context, j store.Job, replica int32, follow bool, w io.Writer) error
}

// MaxJobName keeps "<job>-<index>" (the pods' host names) within 63 characters.
const MaxJobName = 52

// Bounds of a job's environment (the body limit bounds the values).
const (
	maxEnv     = 256
	maxEnvName = 256
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type jobSubmitInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Body   v1.JobSubmit
}

type jobInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Name   string `path:"name" maxLength:"52"`
}

type jobOutput struct {
	Body v1.Job
}

type jobListInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor `query:"after" maxLength:"256" doc:"keyset cursor: the next value of the previous page"`
}

type jobListOutput struct {
	Body v1.List[v1.Job]
}

type jobLogsInput struct {
	Tenant  string `path:"tenant" maxLength:"57"`
	Name    string `path:"name" maxLength:"52"`
	Replica int32  `query:"replica" minimum:"0" doc:"replica index (rank)"`
	Follow  bool   `query:"follow" doc:"keep streaming while the replica runs"`
}

// validateJob checks a submission and returns the spec to store.
func validateJob(in *jobSubmitInput) (store.JobSpec, error) {
	b := in.Body
	if err := ValidateName(b.Name, MaxJobName); err != nil {
		return store.JobSpec{}, fieldError("body.name", b.Name, err)
	}
	if why := v1.ReservedJob(b.Name); why != "" {
		return store.JobSpec{}, fieldError("body.name", b.Name, errors.New(why))
	}
	if _, err := name.ParseReference(b.Image); err != nil || b.Image == "" {
		return store.JobSpec{}, fieldError("body.image", b.Image, fmt.Errorf("not an image reference (examples: ferry.local/workload:1, registry.example/team/img@sha256:…): %v", err))
	}
	if len(b.Command) == 0 || b.Command[0] == "" {
		return store.JobSpec{}, fieldError("body.command", b.Command, errors.New("must be a non-empty list, the program first"))
	}
	if strings.TrimSpace(b.Experiment) != b.Experiment || strings.ContainsFunc(b.Experiment, unicode.IsControl) {
		return store.JobSpec{}, fieldError("body.experiment", b.Experiment, errors.New("an experiment name has no control characters and no leading or trailing spaces"))
	}
	spec := store.JobSpec{Image: b.Image, Command: b.Command, Args: b.Args, Env: b.Env, Replicas: b.Replicas,
		Resources: store.Resources{CPU: b.Resources.CPU, Memory: b.Resources.Memory, GPU: b.Resources.GPU}, Experiment: b.Experiment}
	if spec.Replicas == 0 {
		spec.Replicas = 1
	}
	if spec.Replicas < 1 || spec.Replicas > v1.MaxReplicas {
		return store.JobSpec{}, fieldError("body.replicas", b.Replicas, fmt.Errorf("must be between 1 and %d", v1.MaxReplicas))
	}
	if spec.Resources.CPU == "" {
		spec.Resources.CPU = "1"
	}
	if spec.Resources.Memory == "" {
		spec.Resources.Memory = "1Gi"
	}
	if err := validateResources("body.resources", spec.Resources); err != nil {
		return store.JobSpec{}, err
	}
	if b.MaxRetries != nil {
		if *b.MaxRetries < 0 || *b.MaxRetries > 100 {
			return store.JobSpec{}, fieldError("body.maxRetries", *b.MaxRetries, errors.New("must be between 0 and 100"))
		}
		spec.MaxRetries = *b.MaxRetries
	}
	if len(b.Env) > maxEnv {
		return store.JobSpec{}, fieldError("body.env", len(b.Env), fmt.Errorf("at most %d variables", maxEnv))
	}
	for k := range b.Env {
		if len(k) > maxEnvName {
			return store.JobSpec{}, fieldError("body.env", k, fmt.Errorf("names are at most %d bytes", maxEnvName))
		}
		if !envName.MatchString(k) {
			return store.JobSpec{}, fieldError("body.env", k, fmt.Errorf("%q is not an environment variable name", k))
		}
		switch {
		case k == "WORLD_SIZE", k == "RANK", k == "MASTER_ADDR", k == "MASTER_PORT":
			return store.JobSpec{}, fieldError("body.env", k, fmt.Errorf("%s is set by ferry for each replica", k))
		case k == v1.EnvTrackingURI, k == v1.EnvTrackingToken, k == v1.EnvRunID, k == v1.EnvExperimentID:
			return store.JobSpec{}, fieldError("body.env", k, fmt.Errorf("%s is set by ferry: the job is tracked as its own MLflow run", k))
		case strings.HasPrefix(strings.ToUpper(k), "FERRY_"):
			return store.JobSpec{}, fieldError("body.env", k, fmt.Errorf("FERRY_* names are set by ferry: %s", k))
		}
	}
	return spec, nil
}

func (s *Server) jobRoutes() {
	tags := []string{"jobs"}
	register(s, huma.Operation{OperationID: "submitJob", Method: http.MethodPost, Path: v1.PathJobs, Tags: tags,
		Summary: "Submit a training job (editor)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *jobSubmitInput) (*jobOutput, error) {
			out := &jobOutput{}
			err := s.mutate(ctx, in.Tenant, "job/"+in.Body.Name, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
					return err
				}
				spec, err := validateJob(in)
				if err != nil {
					return err
				}
				t, err := tx.Tenant(ctx, in.Tenant)
				if err != nil {
					return err
				}
				if err := beyondQuota("body.resources", t.Quota, spec.Resources, spec.Replicas); err != nil {
					return err
				}
				if _, err := tx.Job(ctx, in.Tenant, in.Body.Name); err == nil {
					return conflict("body.name", in.Body.Name, fmt.Sprintf("tenant %s already has a job %s", in.Tenant, in.Body.Name))
				}
				run, err := tx.CreateJobRun(ctx, in.Tenant, spec.Experiment, in.Body.Name, caller(ctx).Name)
				if errors.Is(err, store.ErrInvalid) {
					return fieldError("body.experiment", spec.Experiment, err)
				}
				if err != nil {
					return err
				}
				j, err := tx.CreateJob(ctx, store.Job{Tenant: in.Tenant, Name: in.Body.Name, Spec: spec, CreatedBy: caller(ctx).Name,
					ExperimentID: run.ExperimentID, RunID: run.ID})
				if errors.Is(err, store.ErrConflict) {
					return conflict("body.name", in.Body.Name, fmt.Sprintf("tenant %s already has a job %s", in.Tenant, in.Body.Name))
				}
				out.Body = toJob(j)
				return err
			})
			if err == nil && s.cfg.Jobs != nil {
				s.cfg.Jobs.Poke()
			}
			return out, err
		})

	register(s, huma.Operation{OperationID: "listJobs", Method: http.MethodGet, Path: v1.PathJobs, Tags: tags,
		Summary: "List a tenant's jobs in submission order"},
		func(ctx context.Context, in *jobListInput) (*jobListOutput, error) {
			out := &jobListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				after, err := idCursor(in.After)
				if err != nil {
					return err
				}
				items, err := tx.ListJobs(ctx, in.Tenant, after, in.Limit)
				out.Body = page(items, in.Limit, toJob, func(j store.Job) string { return strconv.FormatInt(j.ID, 10) })
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getJob", Method: http.MethodGet, Path: v1.PathJob, Tags: tags,
		Summary: "Get a job with its state and replicas"},
		func(ctx context.Context, in *jobInput) (*jobOutput, error) {
			out := &jobOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				j, err := s.job(ctx, tx, in.Tenant, in.Name, store.RoleViewer)
				out.Body = toJob(j)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "cancelJob", Method: http.MethodPost, Path: v1.PathJobCancel, Tags: tags,
		Summary: "Cancel a job (editor): its pods stop, its logs so far are kept"},
		func(ctx context.Context, in *jobInput) (*jobOutput, error) {
			var j store.Job
			if err := s.read(ctx, func(tx *store.Tx) (err error) {
				j, err = s.job(ctx, tx, in.Tenant, in.Name, store.RoleEditor)
				return err
			}); err != nil {
				return nil, err
			}
			if s.cfg.Jobs == nil {
				return nil, huma.Error503ServiceUnavailable("this server runs no jobs (no Kubernetes access)")
			}
			if j.State.Done() {
				return nil, huma.Error409Conflict(fmt.Sprintf("job %s is already %s", j.Name, j.State))
			}
			out := &jobOutput{}
			r, err := s.recorder(ctx, in.Tenant, "job/"+in.Name)
			if err != nil {
				return nil, err
			}
			cancelled, err := s.cfg.Jobs.Cancel(ctx, j, caller(ctx).Name, r.record)
			if err != nil {
				return nil, s.httpError(err)
			}
			r.committed()
			out.Body = toJob(cancelled)
			return out, nil
		})

	register(s, huma.Operation{OperationID: "jobLogs", Method: http.MethodGet, Path: v1.PathJobLogs, Tags: tags,
		Summary: "A replica's log (text); kept after the pod and the job are gone"},
		func(ctx context.Context, in *jobLogsInput) (*huma.StreamResponse, error) {
			var j store.Job
			if err := s.read(ctx, func(tx *store.Tx) (err error) {
				j, err = s.job(ctx, tx, in.Tenant, in.Name, store.RoleViewer)
				return err
			}); err != nil {
				return nil, err
			}
			if s.cfg.Jobs == nil {
				return nil, huma.Error503ServiceUnavailable("this server runs no jobs (no Kubernetes access)")
			}
			if in.Replica >= j.Spec.Replicas {
				return nil, fieldError("query.replica", in.Replica, fmt.Errorf("job %s has replicas 0..%d", j.Name, j.Spec.Replicas-1))
			}
			if err := s.recordRead(ctx, in.Tenant, store.AccessLog, "", fmt.Sprintf("job/%s replica %d", j.Name, in.Replica)); err != nil {
				return nil, err
			}
			return &huma.StreamResponse{Body: func(hc huma.Context) {
				hc.SetHeader("Content-Type", "text/plain; charset=utf-8")
				w := &flushWriter{w: hc.BodyWriter()}
				if err := s.cfg.Jobs.WriteLogs(hc.Context(), j, in.Replica, in.Follow, w); err != nil {
					if !w.wrote {
						hc.SetStatus(http.StatusNotFound)
					}
					fmt.Fprintf(w, "ferry: %v\n", err)
				}
			}}, nil
		})
}

// job reads a job after checking the caller's role in its tenant.
func (s *Server) job(ctx context.Context, tx *store.Tx, tenant, name string, need store.Role) (store.Job, error) {
	if _, err := authorizeTenant(ctx, tx, tenant, need); err != nil {
		return store.Job{}, err
	}
	j, err := tx.Job(ctx, tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return j, huma.Error404NotFound(fmt.Sprintf("tenant %s has no job %s", tenant, name))
	}
	return j, err
}

// flushWriter flushes after each write, so that a followed log arrives as it is written.
type flushWriter struct {
	w     io.Writer
	wrote bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.wrote = f.wrote || n > 0
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
