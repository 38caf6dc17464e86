package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

type memberPutInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	User   string `path:"user" maxLength:"63"`
	Body   v1.MemberPut
}

type memberDeleteInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	User   string `path:"user" maxLength:"63"`
}

type memberOutput struct {
	Body v1.Member
}

type memberListOutput struct {
	Body v1.List[v1.Member]
}

func (s *Server) memberRoutes() {
	tags := []string{"members"}
	register(s, huma.Operation{OperationID: "putMember", Method: http.MethodPut, Path: v1.PathMember, Tags: tags,
		Summary: "Give a user a role in a tenant (owner)"},
		func(ctx context.Context, in *memberPutInput) (*memberOutput, error) {
			role := store.Role(in.Body.Role)
			if !role.Valid() {
				return nil, fieldError("body.role", in.Body.Role, errors.New("must be owner, editor or viewer"))
			}
			out := &memberOutput{Body: v1.Member{Tenant: in.Tenant, User: in.User, Role: in.Body.Role}}
			err := s.mutate(ctx, in.Tenant, "member/"+in.User, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleOwner); err != nil {
					return err
				}
				u, err := tx.UserByName(ctx, in.User)
				if errors.Is(err, store.ErrNotFound) {
					return huma.Error404NotFound("user "+in.User+" not found", &huma.ErrorDetail{Location: "path.user", Value: in.User, Message: "no such user"})
				}
				if err != nil {
					return err
				}
				if role != store.RoleOwner {
					if err := keepAnOwner(ctx, tx, in.Tenant, u.ID); err != nil {
						return err
					}
				}
				return tx.PutMember(ctx, in.Tenant, u.ID, role)
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "deleteMember", Method: http.MethodDelete, Path: v1.PathMember, Tags: tags,
		Summary: "Remove a user's role in a tenant (owner)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *memberDeleteInput) (*struct{}, error) {
			err := s.mutate(ctx, in.Tenant, "member/"+in.User, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleOwner); err != nil {
					return err
				}
				u, err := tx.UserByName(ctx, in.User)
				if err != nil {
					return huma.Error404NotFound("user " + in.User + " is not a member of tenant " + in.Tenant)
				}
				if err := keepAnOwner(ctx, tx, in.Tenant, u.ID); err != nil {
					return err
				}
				if err := tx.DeleteMember(ctx, in.Tenant, u.ID); err != nil {
					return huma.Error404NotFound("user " + in.User + " is not a member of tenant " + in.Tenant)
				}
				return nil
			})
			return nil, err
		})

	register(s, huma.Operation{OperationID: "listMembers", Method: http.MethodGet, Path: v1.PathMembers, Tags: tags,
		Summary: "List a tenant's members"},
		func(ctx context.Context, in *tenantNameInput) (*memberListOutput, error) {
			out := &memberListOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				ms, err := tx.Members(ctx, in.Tenant)
				out.Body.Items = mapAll(ms, toMember)
				return err
			})
			return out, err
		})
}

// keepAnOwner refuses to take the owner role from userID when it is the
// tenant's last owner: nobody but an admin could manage the tenant after.
func keepAnOwner(ctx context.Context, tx *store.Tx, tenant string, userID int64) error {
	role, err := tx.Role(ctx, userID, tenant)
	if errors.Is(err, store.ErrNotFound) || err == nil && role != store.RoleOwner {
		return nil
	}
	if err != nil {
		return err
	}
	ms, err := tx.Members(ctx, tenant)
	if err != nil {
		return err
	}
	owners := 0
	for _, m := range ms {
		if m.Role == store.RoleOwner {
			owners++
		}
	}
	if owners <= 1 {
		return huma.Error409Conflict("tenant " + tenant + " would have no owner left: make another member owner first")
	}
	return nil
}
