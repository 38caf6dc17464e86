package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/tuning"
	"github.com/ferry-ml/ferry/store"
)

// TuningRunner runs tunings (the tuning controller).
type TuningRunner interface {
	// Poke asks for a pass over the tunings soon.
	Poke()
}

type tuningCreateInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Body   v1.TuningCreate
}

type tuningInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Tuning string `path:"tuning" maxLength:"46"`
}

type tuningOutput struct{ Body v1.Tuning }

type trialOutput struct{ Body v1.Trial }

type tuningListInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor `query:"after" maxLength:"256" doc:"keyset cursor: the next value of the previous page"`
}

type tuningListOutput struct{ Body v1.List[v1.Tuning] }

type trialListInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Tuning string    `path:"tuning" maxLength:"46"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor `query:"after" maxLength:"16" doc:"keyset cursor: the next value of the previous page"`
}

type trialListOutput struct{ Body v1.List[v1.Trial] }

// tuningSpec reads the body's spec (object or YAML text, exactly one),
// validates it and fills in its defaults; root is where its paths start.
func tuningSpec(b v1.TuningCreate) (v1.TuningSpec, string, error) {
	var fe *tuning.FieldError
	switch {
	case b.Spec != nil && b.YAML != "":
		return v1.TuningSpec{}, "", fieldError("body.yaml", nil, errors.New("give the spec once: as spec or as yaml"))
	case b.Spec != nil:
		spec := *b.Spec
		if err := tuning.Validate("body.spec", &spec); errors.As(err, &fe) {
			return spec, "", fieldError(fe.Path, fe.Value, errors.New(fe.Message))
		}
		return spec, "body.spec", nil
	case b.YAML != "":
		spec, err := tuning.Parse("body.yaml", []byte(b.YAML))
		if errors.As(err, &fe) {
			return spec, "", fieldError(fe.Path, fe.Value, errors.New(fe.Message))
		}
		return spec, "body.yaml", err
	}
	return v1.TuningSpec{}, "", fieldError("body.spec", nil, errors.New("a tuning needs a spec (spec, or yaml)"))
}

// validateTrial checks the trial template as the job it becomes (with each
// parameter at its first value) and fills the job defaults into it; the
// fields are named under root.trial. Substituted values land only in
// command, args and env values, so every trial's job is as valid.
func validateTrial(root string, spec *v1.TuningSpec) (store.JobSpec, error) {
	sample := map[string]string{}
	sp := tuning.NewSpace(spec.Parameters)
	for _, d := range sp.Dims {
		if d.Type == v1.TuningCategorical {
			sample[d.Name] = d.Choices[0]
		} else {
			sample[d.Name] = d.Text(d.Low)
		}
	}
	t := tuning.Substitute(spec.Trial, sample)
	in := &jobSubmitInput{Body: v1.JobSubmit{Name: tuning.TrialJobName(spec.Name, v1.MaxTuningTrials-1), Image: t.Image, Command: t.Command,
		Args: t.Args, Env: t.Env, Replicas: t.Replicas, Resources: t.Resources, MaxRetries: t.MaxRetries}}
	js, err := validateJob(in)
	if err != nil {
		var em *huma.ErrorModel
		if errors.As(err, &em) {
			out := &huma.ErrorModel{Status: em.Status, Title: em.Title, Detail: strings.ReplaceAll(em.Detail, "body.", root+".trial.")}
			for _, d := range em.Errors {
				out.Errors = append(out.Errors, &huma.ErrorDetail{Location: strings.Replace(d.Location, "body.", root+".trial.", 1), Message: d.Message, Value: d.Value})
			}
			return js, out
		}
		return js, err
	}
	spec.Trial.Replicas, spec.Trial.MaxRetries = js.Replicas, &js.MaxRetries
	spec.Trial.Resources = v1.Resources{CPU: js.Resources.CPU, Memory: js.Resources.Memory, GPU: js.Resources.GPU}
	return js, nil
}

func toTrial(tr store.Trial) v1.Trial {
	if tr.Value != nil && (math.IsNaN(*tr.Value) || math.IsInf(*tr.Value, 0)) {
		tr.Value = nil // JSON cannot carry it (the store no longer keeps one)
	}
	return v1.Trial{Number: tr.Number, Params: tr.Params, State: v1.TrialState(tr.State), Reason: tr.Reason, Job: tr.Job, RunID: tr.RunID,
		Value: tr.Value, Step: tr.Step, CreatedAt: tr.CreatedAt, FinishedAt: tr.FinishedAt}
}

// toTuning maps a row; counts and best come from its trials.
func toTuning(t store.Tuning, counts map[string]int, best *store.Trial) (v1.Tuning, error) {
	out := v1.Tuning{Tenant: t.Tenant, Name: t.Name, State: v1.TuningState(t.State), Reason: t.Reason, ExperimentID: strconv.FormatInt(t.ExperimentID, 10),
		RunID: t.RunID, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, FinishedAt: t.FinishedAt}
	if err := json.Unmarshal([]byte(t.Spec), &out.Spec); err != nil {
		return out, fmt.Errorf("tuning %s spec: %w", t.Name, err)
	}
	out.Trials = v1.TrialCounts{Running: counts[store.TrialRunning], Succeeded: counts[store.TrialSucceeded], Failed: counts[store.TrialFailed],
		Pruned: counts[store.TrialPruned], Cancelled: counts[store.TrialCancelled]}
	for _, n := range counts {
		out.Trials.Total += n
	}
	if best != nil {
		b := toTrial(*best)
		out.Best = &b
	}
	return out, nil
}

// fullTuning reads a tuning with its counts and best trial.
func fullTuning(ctx context.Context, tx *store.Tx, t store.Tuning) (v1.Tuning, error) {
	trials, err := tx.Trials(ctx, t.ID, -1, v1.MaxTuningTrials)
	if err != nil {
		return v1.Tuning{}, err
	}
	counts := map[string]int{}
	for _, tr := range trials {
		counts[tr.State]++
	}
	var spec v1.TuningSpec
	_ = json.Unmarshal([]byte(t.Spec), &spec)
	var best *store.Trial
	if b, ok := tuning.Best(spec.Objective.Direction, trials); ok {
		best = &b
	}
	return toTuning(t, counts, best)
}

func (s *Server) tuningRoutes() {
	tags := []string{"tuning"}
	op := huma.Operation{OperationID: "createTuning", Method: http.MethodPost, Path: v1.PathTunings, Tags: tags,
		Summary: "Start a hyperparameter tuning (editor)", DefaultStatus: http.StatusCreated,
		Description: "Trials are training jobs <name>-t<N> admitted under the tenant's quota; the spec's JSON Schema is " + v1.Prefix + "/schemas/TuningSpec.json."}
	op.MaxBodyBytes = 4 * v1.MaxTuningSpecBytes
	huma.Register(s.api, op, func(ctx context.Context, in *tuningCreateInput) (*tuningOutput, error) {
		out := &tuningOutput{}
		spec, root, err := tuningSpec(in.Body)
		var js store.JobSpec
		if err == nil {
			js, err = validateTrial(root, &spec)
		}
		if err != nil {
			// Nothing is written; the caller must still be an editor to learn why.
			if rerr := s.readAs(ctx, in.Tenant, store.RoleEditor, func(*store.Tx) error { return nil }); rerr != nil {
				return nil, rerr
			}
			return nil, err
		}
		err = s.mutate(ctx, in.Tenant, "tuning/"+spec.Name, func(tx *store.Tx) error {
			if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
				return err
			}
			t, err := tx.Tenant(ctx, in.Tenant)
			if err != nil {
				return err
			}
			if err := beyondQuota(root+".trial.resources", t.Quota, js.Resources, js.Replicas); err != nil {
				return err
			}
			b, err := json.Marshal(spec)
			if err != nil {
				return err
			}
			row, err := tx.CreateTuning(ctx, store.Tuning{Tenant: in.Tenant, Name: spec.Name, Spec: string(b), CreatedBy: caller(ctx).Name}, spec.Experiment)
			switch {
			case errors.Is(err, store.ErrConflict):
				return conflict(root+".name", spec.Name, fmt.Sprintf("tenant %s already has a tuning %s", in.Tenant, spec.Name))
			case errors.Is(err, store.ErrInvalid):
				return fieldError(root+".experiment", spec.Experiment, err)
			case err != nil:
				return err
			}
			out.Body, err = toTuning(row, nil, nil)
			return err
		})
		if err == nil && s.cfg.Tuning != nil {
			s.cfg.Tuning.Poke()
		}
		return out, err
	})

	register(s, huma.Operation{OperationID: "listTunings", Method: http.MethodGet, Path: v1.PathTunings, Tags: tags,
		Summary: "List a tenant's tunings in creation order"},
		func(ctx context.Context, in *tuningListInput) (*tuningListOutput, error) {
			out := &tuningListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				after, err := idCursor(in.After)
				if err != nil {
					return err
				}
				rows, err := tx.ListTunings(ctx, in.Tenant, after, in.Limit)
				if err != nil {
					return err
				}
				out.Body = v1.List[v1.Tuning]{Items: make([]v1.Tuning, 0, len(rows))}
				for _, r := range rows {
					counts, err := tx.CountTrials(ctx, r.ID)
					if err != nil {
						return err
					}
					t, err := toTuning(r, counts, nil)
					if err != nil {
						return err
					}
					out.Body.Items = append(out.Body.Items, t)
				}
				if len(rows) == in.Limit {
					out.Body.Next = v1.Cursor(strconv.FormatInt(rows[len(rows)-1].ID, 10))
				}
				return nil
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getTuning", Method: http.MethodGet, Path: v1.PathTuning, Tags: tags,
		Summary: "Get a tuning with its trial counts and best trial"},
		func(ctx context.Context, in *tuningInput) (*tuningOutput, error) {
			out := &tuningOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				t, err := s.tuning(ctx, tx, in.Tenant, in.Tuning, store.RoleViewer)
				if err != nil {
					return err
				}
				out.Body, err = fullTuning(ctx, tx, t)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "listTuningTrials", Method: http.MethodGet, Path: v1.PathTuningTrials, Tags: tags,
		Summary: "List a tuning's trials by number"},
		func(ctx context.Context, in *trialListInput) (*trialListOutput, error) {
			out := &trialListOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				t, err := s.tuning(ctx, tx, in.Tenant, in.Tuning, store.RoleViewer)
				if err != nil {
					return err
				}
				after := -1
				if in.After != "" {
					n, err := strconv.Atoi(string(in.After))
					if err != nil || n < 0 {
						return fieldError("query.after", string(in.After), errNotCursor)
					}
					after = n
				}
				rows, err := tx.Trials(ctx, t.ID, after, in.Limit)
				out.Body = page(rows, in.Limit, toTrial, func(tr store.Trial) string { return strconv.Itoa(tr.Number) })
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getTuningBest", Method: http.MethodGet, Path: v1.PathTuningBest, Tags: tags,
		Summary: "The best trial so far: its parameters, value and run (404 while no trial succeeded)"},
		func(ctx context.Context, in *tuningInput) (*trialOutput, error) {
			out := &trialOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				t, err := s.tuning(ctx, tx, in.Tenant, in.Tuning, store.RoleViewer)
				if err != nil {
					return err
				}
				full, err := fullTuning(ctx, tx, t)
				if err != nil {
					return err
				}
				if full.Best == nil {
					return huma.Error404NotFound(fmt.Sprintf("tuning %s has no succeeded trial yet (%d trials, %d running)", t.Name, full.Trials.Total, full.Trials.Running))
				}
				out.Body = *full.Best
				return nil
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "stopTuning", Method: http.MethodPost, Path: v1.PathTuningStop, Tags: tags,
		Summary: "Stop a tuning (editor): no new trials; running ones are cancelled"},
		func(ctx context.Context, in *tuningInput) (*tuningOutput, error) {
			out := &tuningOutput{}
			err := s.mutate(ctx, in.Tenant, "tuning/"+in.Tuning, func(tx *store.Tx) error {
				t, err := s.tuning(ctx, tx, in.Tenant, in.Tuning, store.RoleEditor)
				if err != nil {
					return err
				}
				if t.State != store.TuningRunning {
					return huma.Error409Conflict(fmt.Sprintf("tuning %s is already %s", t.Name, t.State))
				}
				t, err = tx.EndTuning(ctx, t.ID, store.TuningStopped, "stopped by "+caller(ctx).Name)
				if err != nil {
					return err
				}
				out.Body, err = fullTuning(ctx, tx, t)
				return err
			})
			if err == nil && s.cfg.Tuning != nil {
				s.cfg.Tuning.Poke()
			}
			return out, err
		})
}

// tuning reads a tuning after checking the caller's role in its tenant.
func (s *Server) tuning(ctx context.Context, tx *store.Tx, tenant, name string, need store.Role) (store.Tuning, error) {
	if _, err := authorizeTenant(ctx, tx, tenant, need); err != nil {
		return store.Tuning{}, err
	}
	t, err := tx.Tuning(ctx, tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return t, huma.Error404NotFound(fmt.Sprintf("tenant %s has no tuning %s", tenant, name))
	}
	return t, err
}
