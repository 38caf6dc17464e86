package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ferry-ml/ferry/store"
)

type quotaBody struct {
	CPU    string `json:"cpu,omitempty" doc:"CPU limit as a Kubernetes quantity" example:"8"`
	Memory string `json:"memory,omitempty" doc:"memory limit as a Kubernetes quantity" example:"32Gi"`
	GPU    *int64 `json:"gpu,omitempty" minimum:"0" doc:"number of nvidia.com/gpu"`
}

type tenantCreateInput struct {
	Body struct {
		Name        string    `json:"name" maxLength:"57" doc:"DNS-1123 label; the namespace is ferry-<name>"`
		DisplayName string    `json:"displayName,omitempty" maxLength:"200"`
		Quota       quotaBody `json:"quota,omitempty"`
		Owner       string    `json:"owner,omitempty" doc:"user made owner of the new tenant"`
	}
}

type tenantPatchInput struct {
	Name string `path:"name"`
	Body struct {
		DisplayName         *string    `json:"displayName,omitempty" maxLength:"200"`
		Quota               *quotaBody `json:"quota,omitempty" doc:"admins only"`
		NotebookIdleSeconds *int64     `json:"notebookIdleSeconds,omitempty" minimum:"0" doc:"stop notebooks unused this long (0: never)"`
	}
}

type tenantNameInput struct {
	Name string `path:"name"`
}

type tenantOutput struct {
	Body store.Tenant
}

type tenantListInput struct {
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After string `query:"after" doc:"keyset cursor: the next value of the previous page"`
}

type tenantListOutput struct {
	Body struct {
		Items []store.Tenant `json:"items"`
		Next  string         `json:"next,omitempty"`
	}
}

// Default quota for a tenant created without one.
var defaultQuota = store.Quota{CPU: "4", Memory: "8Gi", GPU: 0}

func applyQuota(q *store.Quota, b quotaBody) error {
	if b.CPU != "" {
		if err := ValidateQuantity(b.CPU); err != nil {
			return fieldError("body.quota.cpu", b.CPU, err)
		}
		q.CPU = b.CPU
	}
	if b.Memory != "" {
		if err := ValidateQuantity(b.Memory); err != nil {
			return fieldError("body.quota.memory", b.Memory, err)
		}
		q.Memory = b.Memory
	}
	if b.GPU != nil {
		q.GPU = *b.GPU
	}
	return nil
}

func (s *Server) tenantRoutes() {
	tags := []string{"tenants"}
	register(s, huma.Operation{OperationID: "createTenant", Method: http.MethodPost, Path: "/api/v1/tenants", Tags: tags,
		Summary: "Create a tenant (admin)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *tenantCreateInput) (*tenantOutput, error) {
			if err := requireAdmin(ctx); err != nil {
				return nil, err
			}
			if err := ValidateName(in.Body.Name, MaxTenantName); err != nil {
				return nil, fieldError("body.name", in.Body.Name, err)
			}
			t := store.Tenant{Name: in.Body.Name, DisplayName: in.Body.DisplayName, Quota: defaultQuota}
			if t.DisplayName == "" {
				t.DisplayName = t.Name
			}
			if err := applyQuota(&t.Quota, in.Body.Quota); err != nil {
				return nil, err
			}
			out := &tenantOutput{}
			err := s.mutate(ctx, t.Name, "tenant/"+t.Name, func(tx *store.Tx) error {
				var err error
				if out.Body, err = tx.CreateTenant(ctx, t); err != nil {
					return err
				}
				if in.Body.Owner == "" {
					return nil
				}
				u, err := tx.UserByName(ctx, in.Body.Owner)
				if errors.Is(err, store.ErrNotFound) {
					return fieldError("body.owner", in.Body.Owner, errors.New("no such user"))
				}
				if err != nil {
					return err
				}
				return tx.PutMember(ctx, t.Name, u.ID, store.RoleOwner)
			})
			if err == nil {
				s.cfg.OnTenantChange(t.Name)
			}
			return out, err
		})

	register(s, huma.Operation{OperationID: "listTenants", Method: http.MethodGet, Path: "/api/v1/tenants", Tags: tags,
		Summary: "List the tenants the caller can see"},
		func(ctx context.Context, in *tenantListInput) (*tenantListOutput, error) {
			out := &tenantListOutput{}
			userID := caller(ctx).ID
			if caller(ctx).Admin {
				userID = 0
			}
			err := s.read(ctx, func(tx *store.Tx) error {
				items, err := tx.ListTenants(ctx, userID, in.After, in.Limit)
				out.Body.Items = items
				if len(items) == in.Limit {
					out.Body.Next = items[len(items)-1].Name
				}
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getTenant", Method: http.MethodGet, Path: "/api/v1/tenants/{name}", Tags: tags,
		Summary: "Get a tenant"},
		func(ctx context.Context, in *tenantNameInput) (*tenantOutput, error) {
			out := &tenantOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Name, store.RoleViewer); err != nil {
					return err
				}
				var err error
				out.Body, err = tx.Tenant(ctx, in.Name)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "updateTenant", Method: http.MethodPatch, Path: "/api/v1/tenants/{name}", Tags: tags,
		Summary: "Change a tenant's display name (owner) or quota (admin)"},
		func(ctx context.Context, in *tenantPatchInput) (*tenantOutput, error) {
			out := &tenantOutput{}
			err := s.mutate(ctx, in.Name, "tenant/"+in.Name, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Name, store.RoleOwner); err != nil {
					return err
				}
				t, err := tx.Tenant(ctx, in.Name)
				if err != nil {
					return err
				}
				if in.Body.DisplayName != nil {
					t.DisplayName = *in.Body.DisplayName
				}
				if in.Body.NotebookIdleSeconds != nil {
					t.NotebookIdleSeconds = *in.Body.NotebookIdleSeconds
				}
				if in.Body.Quota != nil {
					if err := requireAdmin(ctx); err != nil {
						return err
					}
					if err := applyQuota(&t.Quota, *in.Body.Quota); err != nil {
						return err
					}
				}
				out.Body, err = tx.UpdateTenant(ctx, t)
				return err
			})
			if err == nil {
				s.cfg.OnTenantChange(in.Name)
			}
			return out, err
		})

	register(s, huma.Operation{OperationID: "deleteTenant", Method: http.MethodDelete, Path: "/api/v1/tenants/{name}", Tags: tags,
		Summary: "Delete a tenant (admin)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *tenantNameInput) (*struct{}, error) {
			err := s.mutate(ctx, in.Name, "tenant/"+in.Name, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Name, store.RoleViewer); err != nil {
					return err
				}
				if err := requireAdmin(ctx); err != nil {
					return err
				}
				return tx.DeleteTenant(ctx, in.Name)
			})
			if err == nil {
				s.cfg.OnTenantChange(in.Name)
			}
			return nil, err
		})
}
