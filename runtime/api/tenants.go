package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

type tenantCreateInput struct {
	Body v1.TenantCreate
}

type tenantPatchInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Body   v1.TenantUpdate
}

type tenantNameInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
}

type tenantOutput struct {
	Body v1.Tenant
}

type tenantListInput struct {
	Limit int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After v1.Cursor `query:"after" maxLength:"256" doc:"keyset cursor: the next value of the previous page"`
}

type tenantListOutput struct {
	Body v1.List[v1.Tenant]
}

// Default quota for a tenant created without one.
var defaultQuota = store.Quota{CPU: "4", Memory: "8Gi", GPU: 0}

func applyQuota(q *store.Quota, b v1.QuotaChange) error {
	if b.CPU != "" {
		if err := ValidateQuantityIn(b.CPU, "0", v1.MaxQuotaCPU); err != nil {
			return fieldError("body.quota.cpu", b.CPU, err)
		}
		q.CPU = b.CPU
	}
	if b.Memory != "" {
		if err := ValidateQuantityIn(b.Memory, "0", v1.MaxQuotaMemory); err != nil {
			return fieldError("body.quota.memory", b.Memory, err)
		}
		q.Memory = b.Memory
	}
	if b.GPU != nil {
		if *b.GPU < 0 || *b.GPU > v1.MaxQuotaGPU {
			return fieldError("body.quota.gpu", *b.GPU, fmt.Errorf("must be between 0 and %d", v1.MaxQuotaGPU))
		}
		q.GPU = *b.GPU
	}
	return nil
}

func (s *Server) tenantRoutes() {
	tags := []string{"tenants"}
	register(s, huma.Operation{OperationID: "createTenant", Method: http.MethodPost, Path: v1.PathTenants, Tags: tags,
		Summary: "Create a tenant (admin)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *tenantCreateInput) (*tenantOutput, error) {
			if err := requireAdmin(ctx); err != nil {
				return nil, err
			}
			if err := ValidateName(in.Body.Name, MaxTenantName); err != nil {
				return nil, fieldError("body.name", in.Body.Name, err)
			}
			if why := v1.ReservedTenant(in.Body.Name); why != "" {
				return nil, fieldError("body.name", in.Body.Name, errors.New(why))
			}
			if err := displayNameError(in.Body.DisplayName); err != nil {
				return nil, err
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
				created, err := tx.CreateTenant(ctx, t)
				if errors.Is(err, store.ErrConflict) {
					return conflict("body.name", t.Name, "tenant "+t.Name+" already exists")
				}
				if err != nil {
					return err
				}
				out.Body = toTenant(created)
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

	register(s, huma.Operation{OperationID: "listTenants", Method: http.MethodGet, Path: v1.PathTenants, Tags: tags,
		Summary: "List the tenants the caller can see"},
		func(ctx context.Context, in *tenantListInput) (*tenantListOutput, error) {
			out := &tenantListOutput{}
			userID := caller(ctx).ID
			if caller(ctx).Admin {
				userID = 0
			}
			err := s.read(ctx, func(tx *store.Tx) error {
				items, err := tx.ListTenants(ctx, userID, string(in.After), in.Limit)
				out.Body = page(items, in.Limit, toTenant, func(t store.Tenant) string { return t.Name })
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "getTenant", Method: http.MethodGet, Path: v1.PathTenant, Tags: tags,
		Summary: "Get a tenant"},
		func(ctx context.Context, in *tenantNameInput) (*tenantOutput, error) {
			out := &tenantOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				t, err := tx.Tenant(ctx, in.Tenant)
				out.Body = toTenant(t)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "updateTenant", Method: http.MethodPatch, Path: v1.PathTenant, Tags: tags,
		Summary: "Change a tenant's display name (owner) or quota (admin)"},
		func(ctx context.Context, in *tenantPatchInput) (*tenantOutput, error) {
			out := &tenantOutput{}
			err := s.mutate(ctx, in.Tenant, "tenant/"+in.Tenant, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleOwner); err != nil {
					return err
				}
				t, err := tx.Tenant(ctx, in.Tenant)
				if err != nil {
					return err
				}
				if in.Body.DisplayName != nil {
					if err := displayNameError(*in.Body.DisplayName); err != nil {
						return err
					}
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
				t, err = tx.UpdateTenant(ctx, t)
				out.Body = toTenant(t)
				return err
			})
			if err == nil {
				s.cfg.OnTenantChange(in.Tenant)
			}
			return out, err
		})

	register(s, huma.Operation{OperationID: "deleteTenant", Method: http.MethodDelete, Path: v1.PathTenant, Tags: tags,
		Summary: "Delete a tenant (admin)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *tenantNameInput) (*struct{}, error) {
			err := s.mutate(ctx, in.Tenant, "tenant/"+in.Tenant, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleViewer); err != nil {
					return err
				}
				if err := requireAdmin(ctx); err != nil {
					return err
				}
				return tx.DeleteTenant(ctx, in.Tenant)
			})
			if err == nil {
				s.cfg.OnTenantChange(in.Tenant)
			}
			return nil, err
		})
}
