package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/serving"
	"github.com/ferry-ml/ferry/store"
)

func (s *Server) servingRoutes() {
	tags := []string{"serving"}
	register(s, huma.Operation{OperationID: "createDeployment", Method: http.MethodPost, Path: v1.PathDeployments, Tags: tags,
		Summary: "Serve a registered model version (editor)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *deploymentCreateInput) (*deploymentOutput, error) {
			out := &deploymentOutput{}
			err := s.mutate(ctx, in.Tenant, "deployment/"+in.Body.Name, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
					return err
				}
				t, err := tx.Tenant(ctx, in.Tenant)
				if err != nil {
					return err
				}
				spec, err := validateDeployment(in.Body, t.Quota)
				if err != nil {
					return err
				}
				rev, err := resolveModel(ctx, tx, in.Tenant, "body.model", in.Body.Model)
				if err != nil {
					return err
				}
				rev.Replicas = 0
				d, err := tx.CreateDeployment(ctx, store.Deployment{Tenant: in.Tenant, Name: in.Body.Name, Spec: marshalSpec(spec), CreatedBy: caller(ctx).Name}, rev)
				if errors.Is(err, store.ErrConflict) {
					return conflict("body.name", in.Body.Name, fmt.Sprintf("tenant %s already has a deployment %s", in.Tenant, in.Body.Name))
				}
				if err != nil {
					return err
				}
				if err := tx.AddDeploymentEvent(ctx, d.ID, "created", fmt.Sprintf("serving %s version %d as %s", rev.Model, rev.Version, serving.RevisionName(d, d.Revisions[0]))); err != nil {
					return err
				}
				out.Body, err = s.toDeployment(ctx, tx, d)
				return err
			})
			if err == nil {
				s.pokeServing()
			}
			return out, err
		})

	register(s, huma.Operation{OperationID: "listDeployments", Method: http.MethodGet, Path: v1.PathDeployments, Tags: tags,
		Summary: "List a tenant's deployments"},
		func(ctx context.Context, in *deploymentListInput) (*deploymentListOutput, error) {
			out := &deploymentListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				after, err := idCursor(in.After)
				if err != nil {
					return err
				}
				items, err := tx.ListDeployments(ctx, in.Tenant, after, in.Limit)
				if err != nil {
					return err
				}
				conv := make([]v1.Deployment, len(items))
				for i, d := range items {
					if conv[i], err = s.toDeployment(ctx, tx, d); err != nil {
						return err
					}
				}
				out.Body = page(conv, in.Limit, func(d v1.Deployment) v1.Deployment { return d }, func(d v1.Deployment) string { return "" })
				if len(items) == in.Limit {
					out.Body.Next = v1.Cursor(strconv.FormatInt(items[len(items)-1].ID, 10))
				}
				return nil
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getDeployment", Method: http.MethodGet, Path: v1.PathDeployment, Tags: tags,
		Summary: "Get a deployment: revisions, weights, replicas, request and error rates, p50/p99, decisions"},
		func(ctx context.Context, in *deploymentInput) (*deploymentOutput, error) {
			out := &deploymentOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				d, err := s.deployment(ctx, tx, in.Tenant, in.Name, store.RoleViewer)
				if err != nil {
					return err
				}
				out.Body, err = s.toDeployment(ctx, tx, d)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "updateDeployment", Method: http.MethodPatch, Path: v1.PathDeployment, Tags: tags,
		Summary: "Change a deployment (editor): a new model version becomes the canary; scaling applies to every revision"},
		func(ctx context.Context, in *deploymentUpdateInput) (*deploymentOutput, error) {
			out := &deploymentOutput{}
			err := s.mutate(ctx, in.Tenant, "deployment/"+in.Name, func(tx *store.Tx) error {
				d, err := s.deployment(ctx, tx, in.Tenant, in.Name, store.RoleEditor)
				if err != nil {
					return err
				}
				if err := s.updateDeployment(ctx, tx, d, in.Body); err != nil {
					return err
				}
				if d, err = tx.DeploymentByID(ctx, d.ID); err != nil {
					return err
				}
				out.Body, err = s.toDeployment(ctx, tx, d)
				return err
			})
			if err == nil {
				s.pokeServing()
			}
			return out, err
		})

	for _, op := range []struct{ id, path, summary, action string }{
		{"promoteDeployment", v1.PathDeploymentPromote, "Make the canary stable at 100% (editor)", serving.Promote},
		{"rollbackDeployment", v1.PathDeploymentRollback, "Roll the canary back, or without one go back to the previous stable revision (editor)", serving.Rollback},
	} {
		register(s, huma.Operation{OperationID: op.id, Method: http.MethodPost, Path: op.path, Tags: tags, Summary: op.summary},
			func(ctx context.Context, in *deploymentInput) (*deploymentOutput, error) {
				out := &deploymentOutput{}
				err := s.mutate(ctx, in.Tenant, "deployment/"+in.Name, func(tx *store.Tx) error {
					d, err := s.deployment(ctx, tx, in.Tenant, in.Name, store.RoleEditor)
					if err != nil {
						return err
					}
					if err := manualDecision(ctx, tx, d, op.action, caller(ctx).Name); err != nil {
						return err
					}
					if d, err = tx.DeploymentByID(ctx, d.ID); err != nil {
						return err
					}
					out.Body, err = s.toDeployment(ctx, tx, d)
					return err
				})
				if err == nil {
					s.pokeServing()
				}
				return out, err
			})
	}

	register(s, huma.Operation{OperationID: "deleteDeployment", Method: http.MethodDelete, Path: v1.PathDeployment, Tags: tags,
		Summary: "Delete a deployment (editor): its revisions, keys and objects go", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *deploymentInput) (*struct{}, error) {
			err := s.mutate(ctx, in.Tenant, "deployment/"+in.Name, func(tx *store.Tx) error {
				if _, err := s.deployment(ctx, tx, in.Tenant, in.Name, store.RoleEditor); err != nil {
					return err
				}
				return tx.DeleteDeployment(ctx, in.Tenant, in.Name)
			})
			if err == nil {
				s.pokeServing()
			}
			return nil, err
		})
	s.servingKeyRoutes()
}

// updateDeployment applies an update in tx.
func (s *Server) updateDeployment(ctx context.Context, tx *store.Tx, d store.Deployment, b v1.DeploymentUpdate) error {
	spec, err := serving.Spec(d)
	if err != nil {
		return err
	}
	if b.Min != nil {
		spec.Min = *b.Min
	}
	if b.Max != nil {
		spec.Max = *b.Max
	}
	if b.Concurrency != 0 {
		spec.Concurrency = b.Concurrency
	}
	if b.IdleSeconds != nil {
		spec.IdleSeconds = *b.IdleSeconds
	}
	if b.Rollout != nil {
		spec.Rollout = serving.WithDefaults(*b.Rollout)
	}
	if b.StartupCPU != nil {
		spec.StartupCPU = ""
		if *b.StartupCPU != "" {
			t, err := tx.Tenant(ctx, d.Tenant)
			if err != nil {
				return err
			}
			if spec.StartupCPU, err = startupCPU(*b.StartupCPU, spec, t.Quota); err != nil {
				return err
			}
		}
	}
	if err := validateScale(&spec); err != nil {
		return err
	}
	weight := int32(serving.DefaultCanaryWeight)
	if b.CanaryWeight != nil {
		weight = *b.CanaryWeight
		if weight < 0 || weight > 100 {
			return fieldError("body.canaryWeight", weight, errors.New("a weight is a percentage, 0 to 100"))
		}
		if b.Model == "" {
			return fieldError("body.canaryWeight", weight, errors.New("a canary weight comes with a new model version (body.model)"))
		}
	}
	if b.Model != "" {
		rev, err := resolveModel(ctx, tx, d.Tenant, "body.model", b.Model)
		if err != nil {
			return err
		}
		spec.Model = b.Model
		if err := serving.StartCanary(ctx, tx, d, rev, weight, caller(ctx).Name); err != nil {
			return err
		}
	}
	return tx.UpdateDeploymentSpec(ctx, d.ID, marshalSpec(spec))
}

// manualDecision promotes or rolls back by hand.
func manualDecision(ctx context.Context, tx *store.Tx, d store.Deployment, action, actor string) error {
	var stable, canary, previous *store.Revision
	for i := range d.Revisions {
		r := &d.Revisions[i]
		switch r.Role {
		case store.RevisionStable:
			stable = r
		case store.RevisionCanary:
			canary = r
		}
	}
	for i := range d.Revisions {
		if r := &d.Revisions[i]; r.Role == store.RevisionRetired && stable != nil && r.Number < stable.Number {
			previous = r
		}
	}
	if stable == nil {
		return errors.New("deployment has no stable revision")
	}
	reason := "by " + actor
	switch {
	case canary != nil:
		return serving.ApplyDecision(ctx, tx, d, *stable, *canary, serving.Decision{Action: action, Reason: reason}, actor)
	case action == serving.Rollback && previous != nil:
		// Without a canary, rollback makes the previous stable revision stable again.
		return serving.ApplyDecision(ctx, tx, d, *stable, *previous, serving.Decision{Action: serving.Promote, Reason: "rolled back to the previous stable revision " + reason}, actor)
	default:
		return huma.Error409Conflict(fmt.Sprintf("deployment %s has no canary to %s", d.Name, action))
	}
}
