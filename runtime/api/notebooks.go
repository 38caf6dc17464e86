package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/go-containerregistry/pkg/name"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// NotebookRunner runs notebooks on a cluster (the notebooks controller).
type NotebookRunner interface {
	Poke()
	// Start, Stop and Delete change a notebook; record writes the audit row
	// in the transaction of that change.
	Start(ctx context.Context, tenant, name string, record func(*store.Tx) error) (store.Notebook, error)
	Stop(ctx context.Context, tenant, name, reason string, record func(*store.Tx) error) (store.Notebook, error)
	Delete(ctx context.Context, tenant, name string, record func(*store.Tx) error) error
}

type notebookCreateInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Body   v1.NotebookCreate
}

type notebookInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Name   string `path:"name" maxLength:"50"`
}

type notebookOutput struct {
	Body v1.Notebook
}

type notebookListInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor `query:"after" maxLength:"256" doc:"keyset cursor: the next value of the previous page"`
}

type notebookListOutput struct {
	Body v1.List[v1.Notebook]
}

// MaxNotebookName keeps "nb-<name>" and its pod "nb-<name>-0" within 63 characters.
const MaxNotebookName = 50

func (s *Server) notebook(ctx context.Context, tx *store.Tx, tenant, nb string, need store.Role) (store.Notebook, error) {
	if _, err := authorizeTenant(ctx, tx, tenant, need); err != nil {
		return store.Notebook{}, err
	}
	n, err := tx.Notebook(ctx, tenant, nb)
	if errors.Is(err, store.ErrNotFound) {
		return n, huma.Error404NotFound(fmt.Sprintf("tenant %s has no notebook %s", tenant, nb))
	}
	return n, err
}

func (s *Server) notebookRoutes() {
	tags := []string{"notebooks"}
	register(s, huma.Operation{OperationID: "createNotebook", Method: http.MethodPost, Path: v1.PathNotebooks, Tags: tags,
		Summary: "Create a notebook (editor); it is reached at /t/{tenant}/notebooks/{name}/", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *notebookCreateInput) (*notebookOutput, error) {
			out := &notebookOutput{}
			err := s.mutate(ctx, in.Tenant, "notebook/"+in.Body.Name, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
					return err
				}
				b := in.Body
				if err := ValidateName(b.Name, MaxNotebookName); err != nil {
					return fieldError("body.name", b.Name, err)
				}
				if _, err := name.ParseReference(b.Image); err != nil || b.Image == "" {
					return fieldError("body.image", b.Image, fmt.Errorf("not an image reference: %v", err))
				}
				n := store.Notebook{Tenant: in.Tenant, Name: b.Name, Image: b.Image, Workspace: b.Workspace, CreatedBy: caller(ctx).Name,
					Resources: store.Resources{CPU: b.Resources.CPU, Memory: b.Resources.Memory, GPU: b.Resources.GPU}}
				if n.Resources.CPU == "" {
					n.Resources.CPU = "1"
				}
				if n.Resources.Memory == "" {
					n.Resources.Memory = "2Gi"
				}
				if n.Workspace == "" {
					n.Workspace = "1Gi"
				}
				if err := validateResources("body.resources", n.Resources); err != nil {
					return err
				}
				if err := ValidateQuantityIn(n.Workspace, v1.MinWorkspace, v1.MaxWorkspace); err != nil {
					return fieldError("body.workspace", n.Workspace, err)
				}
				t, err := tx.Tenant(ctx, in.Tenant)
				if err != nil {
					return err
				}
				if err := beyondQuota("body.resources", t.Quota, n.Resources, 1); err != nil {
					return err
				}
				n, err = tx.CreateNotebook(ctx, n)
				if errors.Is(err, store.ErrConflict) {
					return conflict("body.name", b.Name, fmt.Sprintf("tenant %s already has a notebook %s", in.Tenant, b.Name))
				}
				out.Body = toNotebook(n)
				return err
			})
			if err == nil && s.cfg.Notebooks != nil {
				s.cfg.Notebooks.Poke()
			}
			return out, err
		})

	register(s, huma.Operation{OperationID: "listNotebooks", Method: http.MethodGet, Path: v1.PathNotebooks, Tags: tags,
		Summary: "List a tenant's notebooks"},
		func(ctx context.Context, in *notebookListInput) (*notebookListOutput, error) {
			out := &notebookListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				items, err := tx.ListNotebooks(ctx, in.Tenant, string(in.After), in.Limit)
				out.Body = page(items, in.Limit, toNotebook, func(n store.Notebook) string { return n.Name })
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getNotebook", Method: http.MethodGet, Path: v1.PathNotebook, Tags: tags,
		Summary: "Get a notebook"},
		func(ctx context.Context, in *notebookInput) (*notebookOutput, error) {
			out := &notebookOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				n, err := s.notebook(ctx, tx, in.Tenant, in.Name, store.RoleViewer)
				out.Body = toNotebook(n)
				return err
			})
			return out, err
		})

	action := func(id, verb, summary string, do func(ctx context.Context, in *notebookInput, record func(*store.Tx) error) (store.Notebook, error)) {
		register(s, huma.Operation{OperationID: id, Method: http.MethodPost, Path: v1.PathNotebook + "/" + verb, Tags: tags, Summary: summary},
			func(ctx context.Context, in *notebookInput) (*notebookOutput, error) {
				var n store.Notebook
				if err := s.read(ctx, func(tx *store.Tx) (err error) {
					n, err = s.notebook(ctx, tx, in.Tenant, in.Name, store.RoleEditor)
					return err
				}); err != nil {
					return nil, err
				}
				if s.cfg.Notebooks == nil {
					return nil, huma.Error503ServiceUnavailable("this server runs no notebooks (no Kubernetes access)")
				}
				r, err := s.recorder(ctx, in.Tenant, "notebook/"+in.Name)
				if err != nil {
					return nil, err
				}
				n, err = do(ctx, in, r.record)
				if err != nil {
					return nil, s.httpError(err)
				}
				r.committed()
				return &notebookOutput{Body: toNotebook(n)}, nil
			})
	}
	action("stopNotebook", "stop", "Stop a notebook (editor); its workspace is kept", func(ctx context.Context, in *notebookInput, record func(*store.Tx) error) (store.Notebook, error) {
		return s.cfg.Notebooks.Stop(ctx, in.Tenant, in.Name, "stopped by "+caller(ctx).Name, record)
	})
	action("startNotebook", "start", "Start a stopped notebook (editor)", func(ctx context.Context, in *notebookInput, record func(*store.Tx) error) (store.Notebook, error) {
		return s.cfg.Notebooks.Start(ctx, in.Tenant, in.Name, record)
	})

	register(s, huma.Operation{OperationID: "deleteNotebook", Method: http.MethodDelete, Path: v1.PathNotebook, Tags: tags,
		Summary: "Delete a notebook and its workspace (editor)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *notebookInput) (*struct{}, error) {
			if err := s.read(ctx, func(tx *store.Tx) error {
				_, err := s.notebook(ctx, tx, in.Tenant, in.Name, store.RoleEditor)
				return err
			}); err != nil {
				return nil, err
			}
			if s.cfg.Notebooks == nil {
				return nil, s.mutate(ctx, in.Tenant, "notebook/"+in.Name, func(tx *store.Tx) error { return tx.DeleteNotebook(ctx, in.Tenant, in.Name) })
			}
			r, err := s.recorder(ctx, in.Tenant, "notebook/"+in.Name)
			if err != nil {
				return nil, err
			}
			if err := s.cfg.Notebooks.Delete(ctx, in.Tenant, in.Name, r.record); err != nil {
				return nil, s.httpError(err)
			}
			r.committed()
			return nil, nil
		})
}
