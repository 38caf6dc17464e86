package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

type userCreateInput struct {
	Body v1.UserCreate
}

type userCreateOutput struct {
	Body v1.UserCreated
}

type tokenCreateInput struct {
	Body v1.TokenCreate
}

type tokenCreateOutput struct {
	Body v1.TokenCreated
}

type tokenListOutput struct {
	Body v1.List[v1.Token]
}

type tokenIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type userNameInput struct {
	User string `path:"user" maxLength:"63"`
}

type userTokenInput struct {
	User string `path:"user" maxLength:"63"`
	ID   string `path:"id" maxLength:"64"`
}

type userOutput struct {
	Body v1.User
}

type whoamiOutput struct {
	Body v1.Whoami
}

func (s *Server) userRoutes() {
	register(s, huma.Operation{OperationID: "createUser", Method: http.MethodPost, Path: v1.PathUsers, Tags: []string{"users"},
		Summary: "Create a user and its first token (admin)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *userCreateInput) (*userCreateOutput, error) {
			if err := requireAdmin(ctx); err != nil {
				return nil, err
			}
			if err := ValidateName(in.Body.Name, 63); err != nil {
				return nil, fieldError("body.name", in.Body.Name, err)
			}
			if why := v1.ReservedUser(in.Body.Name); why != "" {
				return nil, fieldError("body.name", in.Body.Name, errors.New(why))
			}
			out := &userCreateOutput{}
			err := s.mutate(ctx, "", "user/"+in.Body.Name, func(tx *store.Tx) error {
				u, err := tx.CreateUser(ctx, in.Body.Name, in.Body.Admin)
				if errors.Is(err, store.ErrConflict) {
					return conflict("body.name", in.Body.Name, "user "+in.Body.Name+" already exists")
				}
				if err != nil {
					return err
				}
				_, secret, err := tx.CreateToken(ctx, u.ID, "first", 0)
				out.Body.User, out.Body.Token = toUser(u), secret
				return err
			})
			return out, err
		})
}

func (s *Server) whoamiRoutes() {
	register(s, huma.Operation{OperationID: "whoami", Method: http.MethodGet, Path: v1.PathWhoami, Tags: []string{"users"},
		Summary: "The caller and its roles"},
		func(ctx context.Context, _ *struct{}) (*whoamiOutput, error) {
			out := &whoamiOutput{}
			out.Body.User = toUser(caller(ctx))
			err := s.read(ctx, func(tx *store.Tx) error {
				ms, err := tx.Memberships(ctx, out.Body.ID)
				out.Body.Memberships = mapAll(ms, toMember)
				return err
			})
			return out, err
		})
}

func (s *Server) tokenRoutes() {
	tags := []string{"tokens"}
	register(s, huma.Operation{OperationID: "createToken", Method: http.MethodPost, Path: v1.PathTokens, Tags: tags,
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
				// Minted from the calling token: it expires no later than that one.
				t, secret, err := tx.CreateChildToken(ctx, identity(ctx).TokenID, in.Body.Name, ttl)
				out.Body.Token, out.Body.Secret = toToken(t), secret
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "listTokens", Method: http.MethodGet, Path: v1.PathTokens, Tags: tags,
		Summary: "List the caller's live tokens"},
		func(ctx context.Context, _ *struct{}) (*tokenListOutput, error) {
			out := &tokenListOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				ts, err := tx.ListTokens(ctx, caller(ctx).ID)
				out.Body.Items = mapAll(ts, toToken)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "revokeToken", Method: http.MethodDelete, Path: v1.PathToken, Tags: tags,
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

// adminUserRoutes are an admin's hold on other users: their tokens, and
// disabling them (their tokens stop working at once).
func (s *Server) adminUserRoutes() {
	tags := []string{"users"}
	register(s, huma.Operation{OperationID: "listUserTokens", Method: http.MethodGet, Path: v1.PathUserTokens, Tags: tags,
		Summary: "List a user's live tokens (admin)"},
		func(ctx context.Context, in *userNameInput) (*tokenListOutput, error) {
			if err := requireAdmin(ctx); err != nil {
				return nil, err
			}
			out := &tokenListOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				u, err := userNamed(ctx, tx, in.User)
				if err != nil {
					return err
				}
				ts, err := tx.ListTokens(ctx, u.ID)
				out.Body.Items = mapAll(ts, toToken)
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "revokeUserToken", Method: http.MethodDelete, Path: v1.PathUserToken, Tags: tags,
		Summary: "Revoke one of a user's tokens (admin)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *userTokenInput) (*struct{}, error) {
			err := s.mutate(ctx, "", "user/"+in.User+"/token/"+in.ID, func(tx *store.Tx) error {
				if err := requireAdmin(ctx); err != nil {
					return err
				}
				u, err := userNamed(ctx, tx, in.User)
				if err != nil {
					return err
				}
				if err := tx.RevokeToken(ctx, u.ID, in.ID); errors.Is(err, store.ErrNotFound) {
					return huma.Error404NotFound("user " + in.User + " has no live token " + in.ID)
				} else if err != nil {
					return err
				}
				return nil
			})
			return nil, err
		})
	disable := func(id, path, summary string, disabled bool) {
		register(s, huma.Operation{OperationID: id, Method: http.MethodPost, Path: path, Tags: tags, Summary: summary},
			func(ctx context.Context, in *userNameInput) (*userOutput, error) {
				out := &userOutput{}
				err := s.mutate(ctx, "", "user/"+in.User, func(tx *store.Tx) error {
					if err := requireAdmin(ctx); err != nil {
						return err
					}
					if disabled && in.User == caller(ctx).Name {
						return huma.Error409Conflict("an admin may not disable itself")
					}
					if _, err := userNamed(ctx, tx, in.User); err != nil {
						return err
					}
					u, err := tx.SetUserDisabled(ctx, in.User, disabled)
					out.Body = toUser(u)
					return err
				})
				return out, err
			})
	}
	disable("disableUser", v1.PathUserDisable, "Disable a user: its tokens stop working at once (admin)", true)
	disable("enableUser", v1.PathUserEnable, "Enable a disabled user again (admin)", false)
}

func userNamed(ctx context.Context, tx *store.Tx, name string) (store.User, error) {
	u, err := tx.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, huma.Error404NotFound("user "+name+" not found", &huma.ErrorDetail{Location: "path.user", Value: name, Message: "no such user"})
	}
	return u, err
}
