// Package auth turns a request's credentials into an identity: a bearer
// token in the Authorization header, or a notebook's path-scoped cookie.
// The API, the notebook proxy and the seed endpoints all authenticate here.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// Errors of Authenticate; both mean 401 to the caller.
var (
	// ErrNoCredentials: the request carries no token at all.
	ErrNoCredentials = errors.New("missing bearer token: send Authorization: Bearer <token>")
	// ErrInvalid: the token is malformed, unknown, expired or revoked.
	ErrInvalid = errors.New("invalid, expired or revoked token")
	// ErrScoped: the token may write only to one MLflow run (a job's pods
	// hold it) and is refused everywhere but that run's MLflow paths.
	ErrScoped = errors.New("this token is scoped to one MLflow run and works only on /mlflow/ paths for that run")
	// ErrTenantScoped: the token acts only within one tenant (a notebook's
	// pod holds it) and is refused outside that tenant's API and MLflow paths.
	ErrTenantScoped = errors.New("this token is a notebook's: it works only on its tenant's /api/v1/tenants/{tenant}/... and /mlflow/{tenant}/ paths")
)

// MaxTokenLength bounds what is looked up: ferry's tokens are 49 characters.
const MaxTokenLength = 128

// Identity is who a request acts as.
type Identity = store.User

// TokenIdentity is an identity with the token it authenticated by: a token
// minted by it must expire no later than TokenExpiresAt.
type TokenIdentity struct {
	store.User
	// TokenID is the token the request carried.
	TokenID string
	// TokenExpiresAt is when that token expires (nil: never).
	TokenExpiresAt *time.Time
	// Scope is the token's scope ("" for none; see store.Token.Scope).
	Scope string
	// Tenant is the one tenant a scoped token may act in ("" for an
	// unscoped token); Run is the run a run-scoped token may write to.
	Tenant, Run string
}

// MaxScopedRole is the most a scoped token holds in its tenant, whatever
// its user's role (an owner's or an admin's notebook included): every
// editor of the tenant may open a notebook and read its token, so the token
// must be worth no more than what they already hold.
const MaxScopedRole = store.RoleEditor

// TenantRole is the role id has in tenant, its scope applied: a platform
// admin is owner of every tenant, anyone else has their membership's role; a
// scoped token has none outside its tenant and at most MaxScopedRole in it.
// No role (no membership, no tenant, another tenant's token) is
// store.ErrNotFound, which callers answer as if the tenant did not exist.
// This is the one place a scoped token's tenant is enforced.
func TenantRole(ctx context.Context, tx *store.Tx, id TokenIdentity, tenant string) (store.Role, error) {
	if id.Scope != "" && id.Tenant != tenant {
		return "", store.ErrNotFound
	}
	var role store.Role
	if id.Admin {
		if _, err := tx.Tenant(ctx, tenant); err != nil {
			return "", err
		}
		role = store.RoleOwner
	} else {
		var err error
		if role, err = tx.Role(ctx, id.ID, tenant); err != nil {
			return "", err
		}
	}
	if id.Scope != "" && role.AtLeast(MaxScopedRole) {
		role = MaxScopedRole
	}
	return role, nil
}

// Authenticator checks tokens against the store.
type Authenticator struct {
	DB *store.DB
}

// BearerToken is the token of an Authorization header with the Bearer
// scheme (matched case-insensitively, RFC 9110 §11.1); ok is false without one.
func BearerToken(h http.Header) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h.Get(v1.HeaderAuthorization)), " ")
	if !ok || !strings.EqualFold(scheme, v1.BearerScheme) {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Token authenticates one token secret.
func (a *Authenticator) Token(ctx context.Context, secret string) (Identity, error) {
	id, err := a.TokenIdentity(ctx, secret)
	return id.User, err
}

// TokenIdentity authenticates one token secret and says which token it is.
// A disabled user's tokens, expired and revoked ones are ErrInvalid; a
// run-scoped token is ErrScoped, a tenant-scoped one ErrTenantScoped (only
// TenantTokenIdentity and ScopedTokenIdentity accept them).
func (a *Authenticator) TokenIdentity(ctx context.Context, secret string) (TokenIdentity, error) {
	id, err := a.ScopedTokenIdentity(ctx, secret)
	switch {
	case err != nil:
		return TokenIdentity{}, err
	case id.Scope != "" && id.Run == "":
		return TokenIdentity{}, ErrTenantScoped
	case id.Scope != "":
		return TokenIdentity{}, ErrScoped
	}
	return id, nil
}

// TenantTokenIdentity is TokenIdentity that also accepts a token limited to
// one tenant (a notebook's; Tenant says which); a run-scoped one is still
// ErrScoped. The caller must keep it to that tenant (TenantRole does).
func (a *Authenticator) TenantTokenIdentity(ctx context.Context, secret string) (TokenIdentity, error) {
	id, err := a.ScopedTokenIdentity(ctx, secret)
	if err == nil && id.Run != "" {
		return TokenIdentity{}, ErrScoped
	}
	return id, err
}

// ScopedTokenIdentity is TokenIdentity that also accepts scoped tokens; the
// caller must enforce Tenant (with TenantRole) and Run. A scope of a form
// ferry does not know is ErrScoped.
func (a *Authenticator) ScopedTokenIdentity(ctx context.Context, secret string) (TokenIdentity, error) {
	if secret == "" {
		return TokenIdentity{}, ErrNoCredentials
	}
	if len(secret) > MaxTokenLength || !strings.HasPrefix(secret, v1.TokenPrefix) {
		return TokenIdentity{}, ErrInvalid
	}
	var u store.User
	var t store.Token
	err := a.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		u, t, err = tx.AuthenticateToken(ctx, secret)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return TokenIdentity{}, ErrInvalid
	case err != nil:
		return TokenIdentity{}, fmt.Errorf("check token: %w", err)
	}
	id := TokenIdentity{User: u, TokenID: t.ID, TokenExpiresAt: t.ExpiresAt, Scope: t.Scope}
	if t.Scope != "" {
		var ok bool
		if id.Tenant, id.Run, ok = store.ParseScope(t.Scope); !ok {
			return TokenIdentity{}, ErrScoped
		}
	}
	return id, nil
}

// Request authenticates a request by its bearer token or, when cookie is
// not empty, by the cookie of that name.
func (a *Authenticator) Request(r *http.Request, cookie string) (Identity, error) {
	if t, ok := BearerToken(r.Header); ok {
		return a.Token(r.Context(), t)
	}
	if cookie != "" {
		if c, err := r.Cookie(cookie); err == nil && c.Value != "" {
			return a.Token(r.Context(), c.Value)
		}
	}
	return Identity{}, ErrNoCredentials
}

// Unauthenticated reports whether err means 401 (as opposed to a failure to check).
func Unauthenticated(err error) bool {
	return errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrScoped) || errors.Is(err, ErrTenantScoped)
}
