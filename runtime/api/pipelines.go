package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/pipelines"
	"github.com/ferry-ml/ferry/store"
)

// maxPipelineBody lets a spec over its own limit reach validation (422 at
// the spec) instead of being cut off by the body limit.
const maxPipelineBody = 4 * v1.MaxPipelineSpecBytes

type pipelineCreateInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Body   v1.PipelineCreate
}

type pipelineInput struct {
	Tenant   string `path:"tenant" maxLength:"57"`
	Pipeline string `path:"pipeline" maxLength:"52"`
}

type pipelineOutput struct{ Body v1.Pipeline }

type pipelineVersionOutput struct{ Body v1.PipelineVersion }

type pipelineListInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor `query:"after" maxLength:"256" doc:"keyset cursor: the next value of the previous page"`
}

type pipelineListOutput struct{ Body v1.List[v1.Pipeline] }

type pipelineVersionsInput struct {
	Tenant   string    `path:"tenant" maxLength:"57"`
	Pipeline string    `path:"pipeline" maxLength:"52"`
	Limit    int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After    v1.Cursor `query:"after" maxLength:"256" doc:"keyset cursor: the next value of the previous page"`
}

type pipelineVersionListOutput struct {
	Body v1.List[v1.PipelineVersion]
}

// specError maps a spec fault onto a 422 at its path.
func specError(err error) error {
	var fe *pipelines.FieldError
	if errors.As(err, &fe) {
		return fieldError(fe.Path, fe.Value, errors.New(fe.Message))
	}
	return err
}

// pipelineSpec reads the body's spec (object or YAML text, exactly one) and validates it.
func pipelineSpec(b v1.PipelineCreate) (v1.PipelineSpec, error) {
	switch {
	case b.Spec != nil && b.YAML != "":
		return v1.PipelineSpec{}, fieldError("body.yaml", nil, errors.New("give the spec once: as spec or as yaml"))
	case b.Spec != nil:
		spec := *b.Spec
		return spec, specError(pipelines.Validate("body.spec", &spec))
	case b.YAML != "":
		spec, err := pipelines.Parse("body.yaml", []byte(b.YAML))
		return spec, specError(err)
	}
	return v1.PipelineSpec{}, fieldError("body.spec", nil, errors.New("a pipeline needs a spec (spec, or yaml)"))
}

func toPipeline(p store.Pipeline) v1.Pipeline {
	return v1.Pipeline{Tenant: p.Tenant, Name: p.Name, LatestVersion: p.LatestVersion, Description: p.Description,
		CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func toPipelineVersion(name string, v store.PipelineVersion) (v1.PipelineVersion, error) {
	out := v1.PipelineVersion{Pipeline: name, Version: v.Version, Digest: v.Digest, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
	if err := json.Unmarshal([]byte(v.Spec), &out.Spec); err != nil {
		return v1.PipelineVersion{}, fmt.Errorf("pipeline %s version %d: %w", name, v.Version, err)
	}
	return out, nil
}

func (s *Server) pipelineRoutes() {
	tags := []string{"pipelines"}
	op := huma.Operation{OperationID: "createPipeline", Method: http.MethodPost, Path: v1.PathPipelines, Tags: tags,
		Summary: "Create a pipeline, or add a version when the spec changed (editor)", DefaultStatus: http.StatusCreated,
		Description: "The spec's JSON Schema is " + v1.Prefix + "/schemas/PipelineSpec.json. An identical spec adds no version and answers the latest."}
	op.MaxBodyBytes = maxPipelineBody
	huma.Register(s.api, op, func(ctx context.Context, in *pipelineCreateInput) (*pipelineVersionOutput, error) {
		out := &pipelineVersionOutput{}
		err := s.mutate(ctx, in.Tenant, "pipeline/"+in.Body.Name, func(tx *store.Tx) error {
			if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
				return err
			}
			if err := ValidateName(in.Body.Name, v1.MaxPipelineName); err != nil {
				return fieldError("body.name", in.Body.Name, err)
			}
			spec, err := pipelineSpec(in.Body)
			if err != nil {
				return err
			}
			canon, digest, err := pipelines.Canonical(spec)
			if err != nil {
				return err
			}
			_, v, _, err := tx.PutPipelineVersion(ctx, in.Tenant, in.Body.Name, spec.Description, string(canon), digest, caller(ctx).Name)
			if err != nil {
				return err
			}
			out.Body, err = toPipelineVersion(in.Body.Name, v)
			return err
		})
		return out, err
	})

	register(s, huma.Operation{OperationID: "listPipelines", Method: http.MethodGet, Path: v1.PathPipelines, Tags: tags,
		Summary: "List a tenant's pipelines by name"},
		func(ctx context.Context, in *pipelineListInput) (*pipelineListOutput, error) {
			out := &pipelineListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				items, err := tx.ListPipelines(ctx, in.Tenant, string(in.After), in.Limit)
				out.Body = page(items, in.Limit, toPipeline, func(p store.Pipeline) string { return p.Name })
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getPipeline", Method: http.MethodGet, Path: v1.PathPipeline, Tags: tags,
		Summary: "Get a pipeline"},
		func(ctx context.Context, in *pipelineInput) (*pipelineOutput, error) {
			out := &pipelineOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				p, err := tx.Pipeline(ctx, in.Tenant, in.Pipeline)
				out.Body = toPipeline(p)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "listPipelineVersions", Method: http.MethodGet, Path: v1.PathPipelineVersions, Tags: tags,
		Summary: "List a pipeline's versions with their specs, newest first"},
		func(ctx context.Context, in *pipelineVersionsInput) (*pipelineVersionListOutput, error) {
			out := &pipelineVersionListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				before, err := idCursor(in.After)
				if err != nil {
					return err
				}
				p, err := tx.Pipeline(ctx, in.Tenant, in.Pipeline)
				if err != nil {
					return err
				}
				vs, err := tx.ListPipelineVersions(ctx, p.ID, before, in.Limit)
				if err != nil {
					return err
				}
				items := make([]v1.PipelineVersion, len(vs))
				for i, v := range vs {
					if items[i], err = toPipelineVersion(p.Name, v); err != nil {
						return err
					}
				}
				out.Body = v1.List[v1.PipelineVersion]{Items: items}
				if len(vs) == in.Limit {
					out.Body.Next = v1.Cursor(strconv.FormatInt(vs[len(vs)-1].Version, 10))
				}
				return nil
			})
			return out, err
		})
	s.pipelineRunRoutes()
	s.scheduleRoutes()
}

// isPipelineCreate says whether r creates a pipeline (POST .../tenants/{tenant}/pipelines),
// whose body may hold a spec up to its own limit.
func isPipelineCreate(r *http.Request) bool {
	rest, ok := strings.CutPrefix(r.URL.Path, v1.PathTenants+"/")
	return ok && r.Method == http.MethodPost && strings.Count(rest, "/") == 1 && strings.HasSuffix(rest, "/pipelines")
}
