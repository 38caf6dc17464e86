package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/serving"
	"github.com/ferry-ml/ferry/store"
)

type keyCreateInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Name   string `path:"name" maxLength:"40"`
	Body   v1.APIKeyCreate
}

type keyOutput struct {
	Body v1.APIKey
}

type keyListOutput struct {
	Body v1.List[v1.APIKey]
}

type keyInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Name   string `path:"name" maxLength:"40"`
	ID     string `path:"id" maxLength:"64"`
}

type artifactInput struct {
	Tenant   string `path:"tenant" maxLength:"57"`
	Name     string `path:"name" maxLength:"40"`
	Revision int64  `path:"revision" minimum:"1"`
	Key      string `header:"X-Ferry-Key" maxLength:"128" doc:"the deployment's runtime key"`
}

type routesOutput struct {
	Body v1.RoutingTable
}

type reportInput struct {
	Body v1.GatewayReport
}

func toKey(k store.DeploymentKey) v1.APIKey {
	return v1.APIKey{ID: k.ID, Name: k.Name, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
}

func (s *Server) servingKeyRoutes() {
	tags := []string{"serving"}
	register(s, huma.Operation{OperationID: "createDeploymentKey", Method: http.MethodPost, Path: v1.PathDeploymentKeys, Tags: tags,
		Summary: "Make an API key that may call only this deployment (editor); the key is shown once", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *keyCreateInput) (*keyOutput, error) {
			out := &keyOutput{}
			err := s.mutate(ctx, in.Tenant, "deployment/"+in.Name, func(tx *store.Tx) error {
				d, err := s.deployment(ctx, tx, in.Tenant, in.Name, store.RoleEditor)
				if err != nil {
					return err
				}
				if in.Body.Name == serving.RuntimeKeyName {
					return fieldError("body.name", in.Body.Name, errors.New("the name is ferry's own (its pods' key)"))
				}
				k, secret, err := tx.CreateDeploymentKey(ctx, d.ID, in.Body.Name, caller(ctx).Name, v1.APIKeyPrefix)
				if errors.Is(err, store.ErrInvalid) {
					return huma.Error409Conflict(err.Error())
				}
				out.Body = toKey(k)
				out.Body.Secret = secret
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "listDeploymentKeys", Method: http.MethodGet, Path: v1.PathDeploymentKeys, Tags: tags,
		Summary: "List a deployment's API keys (never their secrets)"},
		func(ctx context.Context, in *deploymentInput) (*keyListOutput, error) {
			out := &keyListOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				d, err := s.deployment(ctx, tx, in.Tenant, in.Name, store.RoleViewer)
				if err != nil {
					return err
				}
				ks, err := tx.DeploymentKeys(ctx, d.ID)
				out.Body = v1.List[v1.APIKey]{Items: mapAll(ks, toKey)}
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "deleteDeploymentKey", Method: http.MethodDelete, Path: v1.PathDeploymentKey, Tags: tags,
		Summary: "Revoke a deployment's API key (editor)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *keyInput) (*struct{}, error) {
			return nil, s.mutate(ctx, in.Tenant, "deployment/"+in.Name, func(tx *store.Tx) error {
				d, err := s.deployment(ctx, tx, in.Tenant, in.Name, store.RoleEditor)
				if err != nil {
					return err
				}
				err = tx.DeleteDeploymentKey(ctx, d.ID, in.ID)
				if errors.Is(err, store.ErrNotFound) {
					return huma.Error404NotFound(fmt.Sprintf("deployment %s has no key %s", in.Name, in.ID))
				}
				return err
			})
		})

	register(s, huma.Operation{OperationID: "getRevisionArtifact", Method: http.MethodGet, Path: v1.PathRevisionArtifact, Tags: tags,
		Security: []map[string][]string{},
		Summary:  "A revision's model file, for its own pods (authenticated by the deployment's key in X-Ferry-Key); X-Ferry-Digest is its sha256"},
		func(ctx context.Context, in *artifactInput) (*huma.StreamResponse, error) {
			var digest string
			err := s.read(ctx, func(tx *store.Tx) error {
				d, err := tx.Deployment(ctx, in.Tenant, in.Name)
				if err != nil {
					return huma.Error404NotFound("no such revision")
				}
				// Only the runtime's own key: keys made for callers of the
				// model may infer, not download its weights.
				hashes, err := tx.DeploymentKeyHashesNamed(ctx, d.ID, serving.RuntimeKeyName)
				if err != nil {
					return err
				}
				if !keyMatches(hashes, in.Key) {
					return huma.Error404NotFound("no such revision")
				}
				for _, r := range d.Revisions {
					if r.Number == in.Revision {
						digest = r.Digest
					}
				}
				if digest == "" {
					return huma.Error404NotFound("no such revision")
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			if s.cfg.Serving == nil {
				return nil, huma.Error503ServiceUnavailable("this server serves no models")
			}
			if err := s.recordRead(ctx, in.Tenant, store.AccessModel, "runtime of deployment "+in.Name,
				fmt.Sprintf("deployment/%s revision %d (sha256:%s)", in.Name, in.Revision, digest)); err != nil {
				return nil, err
			}
			body, err := s.cfg.Serving.OpenArtifact(ctx, digest)
			if err != nil {
				return nil, s.httpError(err)
			}
			return &huma.StreamResponse{Body: func(hc huma.Context) {
				defer body.Close()
				hc.SetHeader("Content-Type", "application/octet-stream")
				hc.SetHeader("X-Ferry-Digest", "sha256:"+digest)
				_, _ = io.Copy(hc.BodyWriter(), body)
			}}, nil
		})

	register(s, huma.Operation{OperationID: "servingRoutes", Method: http.MethodGet, Path: v1.PathServingRoutes, Tags: tags,
		Summary: "The gateway's routing table (admin or the gateway's account)"},
		func(ctx context.Context, _ *struct{}) (*routesOutput, error) {
			if err := requireGateway(ctx); err != nil {
				return nil, err
			}
			out := &routesOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				ds, err := tx.AllDeployments(ctx)
				if err != nil {
					return err
				}
				out.Body, err = routingTable(ctx, tx, ds, s.endpoints)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "servingReport", Method: http.MethodPost, Path: v1.PathServingReport, Tags: tags,
		Summary: "A gateway's measurements per revision (admin or the gateway's account)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *reportInput) (*struct{}, error) {
			if err := requireGateway(ctx); err != nil {
				return nil, err
			}
			if s.cfg.Serving != nil {
				s.cfg.Serving.Report(time.Now(), in.Body)
				for _, r := range in.Body.Revisions {
					if r.Waiting > 0 {
						s.cfg.Serving.Poke()
						break
					}
				}
			}
			return nil, nil
		})
}

// requireGateway lets the gateway's system account or an admin through.
func requireGateway(ctx context.Context) error {
	if caller(ctx).Name == v1.GatewayUser {
		return nil
	}
	return requireAdmin(ctx)
}

func keyMatches(hashes []string, key string) bool {
	if !strings.HasPrefix(key, v1.APIKeyPrefix) {
		return false
	}
	h := store.HashKey(key)
	ok := false
	for _, x := range hashes {
		ok = ok || subtle.ConstantTimeCompare([]byte(x), []byte(h)) == 1
	}
	return ok
}

// endpoints are a revision's ready and starting pods, when a runner knows them.
func (s *Server) endpoints(tenant, deployment, revision string) (ready, starting []string) {
	if s.cfg.Serving == nil {
		return nil, nil
	}
	return s.cfg.Serving.Endpoints(tenant, deployment, revision), s.cfg.Serving.Starting(tenant, deployment, revision)
}

// routingTable is every deployment's live revisions and key hashes. A
// revision's ready pods (eps) count as ready replicas as soon as they are
// seen, before the stored count catches up.
func routingTable(ctx context.Context, tx *store.Tx, ds []store.Deployment, eps func(tenant, deployment, revision string) (ready, starting []string)) (v1.RoutingTable, error) {
	t := v1.RoutingTable{Routes: []v1.Route{}}
	var ver strings.Builder
	for _, d := range ds {
		spec, err := serving.Spec(d)
		if err != nil {
			return t, err
		}
		hashes, err := tx.DeploymentKeyHashes(ctx, d.ID)
		if err != nil {
			return t, err
		}
		rt := v1.Route{Tenant: d.Tenant, Deployment: d.Name, KeyHashes: hashes, Revisions: []v1.RouteRevision{}}
		for _, r := range d.Revisions {
			if r.Role == store.RevisionRetired {
				continue
			}
			name := serving.RevisionName(d, r)
			rr := v1.RouteRevision{Name: name, URL: serving.ServiceURL(d, r), Weight: r.Weight, ProbePath: serving.ProbePath(spec),
				Replicas: r.Replicas, Ready: r.Ready, Min: spec.Min, Max: spec.Max, Concurrency: spec.Concurrency}
			rr.Endpoints, rr.Starting = eps(d.Tenant, d.Name, name)
			rr.Ready = max(rr.Ready, int32(len(rr.Endpoints)))
			rt.Revisions = append(rt.Revisions, rr)
		}
		sort.Slice(rt.Revisions, func(i, j int) bool { return rt.Revisions[i].Name < rt.Revisions[j].Name })
		t.Routes = append(t.Routes, rt)
		ver.WriteString(d.Tenant + "/" + d.Name + "@" + d.UpdatedAt.Format(time.RFC3339Nano) + ";" + strconv.Itoa(len(hashes)))
	}
	t.Version = store.HashKey(ver.String())[:16]
	return t, nil
}
