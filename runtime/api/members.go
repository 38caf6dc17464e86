package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ferry-ml/ferry/store"
)

type memberPutInput struct {
	Name string `path:"name"`
	User string `path:"user"`
	Body struct {
		Role store.Role `json:"role" enum:"owner,editor,viewer"`
	}
}

type memberDeleteInput struct {
	Name string `path:"name"`
	User string `path:"user"`
}

type memberOutput struct {
	Body store.Member
}

type memberListOutput struct {
	Body struct {
		Items []store.Member `json:"items"`
	}
}

func (s *Server) memberRoutes() {
	tags := []string{"members"}
	register(s, huma.Operation{OperationID: "putMember", Method: http.MethodPut, Path: "/api/v1/tenants/{name}/members/{user}", Tags: tags,
		Summary: "Give a user a role in a tenant (owner)"},
		func(ctx context.Context, in *memberPutInput) (*memberOutput, error) {
			if !in.Body.Role.Valid() {
				return nil, fieldError("body.role", in.Body.Role, errors.New("must be owner, editor or viewer"))
			}
			out := &memberOutput{Body: store.Member{Tenant: in.Name, User: in.User, Role: in.Body.Role}}
			err := s.mutate(ctx, in.Name, "member/"+in.User, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Name, store.RoleOwner); err != nil {
					return err
				}
				u, err := tx.UserByName(ctx, in.User)
				if errors.Is(err, store.ErrNotFound) {
					return huma.Error404NotFound("user "+in.User+" not found", &huma.ErrorDetail{Location: "path.user", Value: in.User, Message: "no such user"})
				}
				if err != nil {
					return err
				}
				return tx.PutMember(ctx, in.Name, u.ID, in.Body.Role)
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "deleteMember", Method: http.MethodDelete, Path: "/api/v1/tenants/{name}/members/{user}", Tags: tags,
		Summary: "Remove a user's role in a tenant (owner)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *memberDeleteInput) (*struct{}, error) {
			err := s.mutate(ctx, in.Name, "member/"+in.User, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Name, store.RoleOwner); err != nil {
					return err
				}
				u, err := tx.UserByName(ctx, in.User)
				if err != nil {
					return huma.Error404NotFound("user " + in.User + " is not a member of tenant " + in.Name)
				}
				if err := tx.DeleteMember(ctx, in.Name, u.ID); err != nil {
					return huma.Error404NotFound("user " + in.User + " is not a member of tenant " + in.Name)
				}
				return nil
			})
			return nil, err
		})

	register(s, huma.Operation{OperationID: "listMembers", Method: http.MethodGet, Path: "/api/v1/tenants/{name}/members", Tags: tags,
		Summary: "List a tenant's members"},
		func(ctx context.Context, in *tenantNameInput) (*memberListOutput, error) {
			out := &memberListOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Name, store.RoleViewer); err != nil {
					return err
				}
				var err error
				out.Body.Items, err = tx.Members(ctx, in.Name)
				return err
			})
			return out, err
		})
}
