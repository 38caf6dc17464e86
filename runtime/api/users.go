package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ferry-ml/ferry/store"
)

type userCreateInput struct {
	Body struct {
		Name  string `json:"name" maxLength:"63" doc:"DNS-1123 label"`
		Admin bool   `json:"admin,omitempty" doc:"platform admin"`
	}
}

type userCreateOutput struct {
	Body struct {
		User  store.User `json:"user"`
		Token string     `json:"token" doc:"the user's first token; shown once"`
	}
}

type tokenCreateInput struct {
	Body struct {
		Name      string `json:"name" minLength:"1" maxLength:"100"`
		ExpiresIn string `json:"expiresIn,omitempty" doc:"Go duration such as 720h; empty means no expiry"`
	}
}

type tokenCreateOutput struct {
	Body struct {
		store.Token
		Secret string `json:"secret" doc:"the token itself; shown once, stored only as its SHA-256"`
	}
}

type tokenListOutput struct {
	Body struct {
		Items []store.Token `json:"items"`
	}
}

type tokenIDInput struct {
	ID string `path:"id"`
}

type whoamiOutput struct {
	Body struct {
		store.User
		Memberships []store.Member `json:"memberships"`
	}
}

func (s *Server) userRoutes() {
	register(s, huma.Operation{OperationID: "createUser", Method: http.MethodPost, Path: "/api/v1/users", Tags: []string{"users"},
		Summary: "Create a user and its first token (admin)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *userCreateInput) (*userCreateOutput, error) {
			if err := requireAdmin(ctx); err != nil {
				return nil, err
			}
			if err := ValidateName(in.Body.Name, 63); err != nil {
				return nil, fieldError("body.name", in.Body.Name, err)
			}
			out := &userCreateOutput{}
			err := s.mutate(ctx, "", "user/"+in.Body.Name, func(tx *store.Tx) error {
				u, err := tx.CreateUser(ctx, in.Body.Name, in.Body.Admin)
				if err != nil {
					return err
				}
				_, secret, err := tx.CreateToken(ctx, u.ID, "first", 0)
				out.Body.User, out.Body.Token = u, secret
				return err
			})
			return out, err
		})
}

func (s *Server) whoamiRoutes() {
	register(s, huma.Operation{OperationID: "whoami", Method: http.MethodGet, Path: "/api/v1/whoami", Tags: []string{"users"},
		Summary: "The caller and its roles"},
		func(ctx context.Context, _ *struct{}) (*whoamiOutput, error) {
			out := &whoamiOutput{}
			out.Body.User = caller(ctx)
			err := s.read(ctx, func(tx *store.Tx) error {
				var err error
				out.Body.Memberships, err = tx.Memberships(ctx, out.Body.ID)
				return err
			})
			return out, err
		})
}

func (s *Server) tokenRoutes() {
	tags := []string{"tokens"}
	register(s, huma.Operation{OperationID: "createToken", Method: http.MethodPost, Path: "/api/v1/tokens", Tags: tags,
		Summary: "Create a token for the caller", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *tokenCreateInput) (*tokenCreateOutput, error) {
			var ttl time.Duration
			if in.Body.ExpiresIn != "" {
				var err error
				if ttl, err = time.ParseDuration(in.Body.ExpiresIn); err != nil || ttl <= 0 {
					return nil, fieldError("body.expiresIn", in.Body.ExpiresIn, errors.New("must be a positive duration such as 720h"))
				}
			}
			out := &tokenCreateOutput{}
			err := s.mutate(ctx, "", "token", func(tx *store.Tx) error {
				var err error
				out.Body.Token, out.Body.Secret, err = tx.CreateToken(ctx, caller(ctx).ID, in.Body.Name, ttl)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "listTokens", Method: http.MethodGet, Path: "/api/v1/tokens", Tags: tags,
		Summary: "List the caller's live tokens"},
		func(ctx context.Context, _ *struct{}) (*tokenListOutput, error) {
			out := &tokenListOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				var err error
				out.Body.Items, err = tx.ListTokens(ctx, caller(ctx).ID)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "revokeToken", Method: http.MethodDelete, Path: "/api/v1/tokens/{id}", Tags: tags,
		Summary: "Revoke one of the caller's tokens", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *tokenIDInput) (*struct{}, error) {
			err := s.mutate(ctx, "", "token/"+in.ID, func(tx *store.Tx) error {
				if err := tx.RevokeToken(ctx, caller(ctx).ID, in.ID); err != nil {
					return huma.Error404NotFound("token " + in.ID + " not found")
				}
				return nil
			})
			return nil, err
		})
}
