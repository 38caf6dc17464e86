package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/ferry-ml/ferry/store"
)

// NotebookRunner runs notebooks on a cluster (the notebooks controller).
type NotebookRunner interface {
	Poke()
	Start(ctx context.Context, tenant, name string) error
	Stop(ctx context.Context, tenant, name, reason string) (store.Notebook, error)
	Delete(ctx context.Context, tenant, name string) error
}

type notebookCreateInput struct {
	Tenant string `path:"tenant"`
	Body   struct {
		Name      string       `json:"name" doc:"DNS-1123 label, unique in the tenant"`
		Image     string       `json:"image" doc:"image with Jupyter (python3 -m notebook)" example:"ferry.local/workload:1"`
		Resources jobResources `json:"resources,omitempty"`
		Workspace string       `json:"workspace,omitempty" doc:"workspace volume size (default 1Gi), kept while the notebook is stopped"`
	}
}

type notebookInput struct {
	Tenant string `path:"tenant"`
	Name   string `path:"name"`
}

type notebookOutput struct {
	Body store.Notebook
}

type notebookListInput struct {
	Tenant string `path:"tenant"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  string `query:"after"`
}

type notebookListOutput struct {
	Body struct {
		Items []store.Notebook `json:"items"`
		Next  string           `json:"next,omitempty"`
	}
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
	register(s, huma.Operation{OperationID: "createNotebook", Method: http.MethodPost, Path: "/api/v1/tenants/{tenant}/notebooks", Tags: tags,
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
				for field, v := range map[string]string{"body.resources.cpu": n.Resources.CPU, "body.resources.memory": n.Resources.Memory, "body.workspace": n.Workspace} {
					if err := ValidateQuantity(v); err != nil {
						return fieldError(field, v, err)
					}
				}
				if n.Resources.GPU < 0 {
					return fieldError("body.resources.gpu", n.Resources.GPU, errors.New("must not be negative"))
				}
				var err error
				out.Body, err = tx.CreateNotebook(ctx, n)
				return err
			})
			if err == nil && s.cfg.Notebooks != nil {
				s.cfg.Notebooks.Poke()
			}
			return out, err
		})

	register(s, huma.Operation{OperationID: "listNotebooks", Method: http.MethodGet, Path: "/api/v1/tenants/{tenant}/notebooks", Tags: tags,
		Summary: "List a tenant's notebooks"},
		func(ctx context.Context, in *notebookListInput) (*notebookListOutput, error) {
			out := &notebookListOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleViewer); err != nil {
					return err
				}
				items, err := tx.ListNotebooks(ctx, in.Tenant, in.After, in.Limit)
				out.Body.Items = items
				if len(items) == in.Limit {
					out.Body.Next = items[len(items)-1].Name
				}
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getNotebook", Method: http.MethodGet, Path: "/api/v1/tenants/{tenant}/notebooks/{name}", Tags: tags,
		Summary: "Get a notebook"},
		func(ctx context.Context, in *notebookInput) (*notebookOutput, error) {
			out := &notebookOutput{}
			err := s.read(ctx, func(tx *store.Tx) (err error) {
				out.Body, err = s.notebook(ctx, tx, in.Tenant, in.Name, store.RoleViewer)
				return err
			})
			return out, err
		})

	action := func(id, verb, summary string, do func(ctx context.Context, in *notebookInput, n store.Notebook) (store.Notebook, error)) {
		register(s, huma.Operation{OperationID: id, Method: http.MethodPost, Path: "/api/v1/tenants/{tenant}/notebooks/{name}/" + verb, Tags: tags, Summary: summary},
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
				n, err := do(ctx, in, n)
				if err != nil {
					return nil, s.httpError(err)
				}
				return &notebookOutput{Body: n}, s.mutate(ctx, in.Tenant, "notebook/"+in.Name, func(*store.Tx) error { return nil })
			})
	}
	action("stopNotebook", "stop", "Stop a notebook (editor); its workspace is kept", func(ctx context.Context, in *notebookInput, _ store.Notebook) (store.Notebook, error) {
		return s.cfg.Notebooks.Stop(ctx, in.Tenant, in.Name, "stopped by "+caller(ctx).Name)
	})
	action("startNotebook", "start", "Start a stopped notebook (editor)", func(ctx context.Context, in *notebookInput, _ store.Notebook) (store.Notebook, error) {
		if err := s.cfg.Notebooks.Start(ctx, in.Tenant, in.Name); err != nil {
			return store.Notebook{}, err
		}
		var n store.Notebook
		err := s.db.Read(ctx, func(tx *store.Tx) (err error) { n, err = tx.Notebook(ctx, in.Tenant, in.Name); return })
		return n, err
	})

	register(s, huma.Operation{OperationID: "deleteNotebook", Method: http.MethodDelete, Path: "/api/v1/tenants/{tenant}/notebooks/{name}", Tags: tags,
		Summary: "Delete a notebook and its workspace (editor)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *notebookInput) (*struct{}, error) {
			if err := s.read(ctx, func(tx *store.Tx) error {
				_, err := s.notebook(ctx, tx, in.Tenant, in.Name, store.RoleEditor)
				return err
			}); err != nil {
				return nil, err
			}
			if s.cfg.Notebooks != nil {
				if err := s.cfg.Notebooks.Delete(ctx, in.Tenant, in.Name); err != nil {
					return nil, s.httpError(err)
				}
			} else if err := s.db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteNotebook(ctx, in.Tenant, in.Name) }); err != nil {
				return nil, s.httpError(err)
			}
			return nil, s.mutate(ctx, in.Tenant, "notebook/"+in.Name, func(*store.Tx) error { return nil })
		})
}
