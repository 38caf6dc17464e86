package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

type ctxKey int

const (
	callerKey ctxKey = iota
	auditKey
)

// caller is the authenticated user of a request.
func caller(ctx context.Context) store.User {
	return identity(ctx).User
}

// identity is who the request acts as, with the token it authenticated by.
func identity(ctx context.Context) auth.TokenIdentity {
	id, _ := ctx.Value(callerKey).(auth.TokenIdentity)
	return id
}

// authMiddleware resolves the bearer token; operations without security are
// public. It runs before the audit middleware: a request without valid
// credentials is counted in a metric and writes no audit row, so that
// anonymous callers cannot fill (or choose the content of) the audit log.
func (s *Server) authMiddleware(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op != nil && op.Security != nil && len(op.Security) == 0 {
		next(ctx)
		return
	}
	secret, _ := auth.BearerToken(http.Header{v1.HeaderAuthorization: {ctx.Header(v1.HeaderAuthorization)}})
	user, err := s.authn.TokenIdentity(ctx.Context(), secret)
	if err != nil {
		status, msg := http.StatusUnauthorized, err.Error()
		switch {
		case errors.Is(err, auth.ErrNoCredentials):
			s.metrics.unauthenticated.WithLabelValues("missing").Inc()
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="ferry"`)
		case errors.Is(err, auth.ErrInvalid):
			s.metrics.unauthenticated.WithLabelValues("invalid").Inc()
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="ferry", error="invalid_token"`)
		case errors.Is(err, auth.ErrScoped):
			s.metrics.unauthenticated.WithLabelValues("scoped").Inc()
			status = http.StatusForbidden
		default:
			s.log.Error("authenticate", "err", err)
			status, msg = http.StatusServiceUnavailable, "could not check the token"
		}
		_ = huma.WriteErr(s.api, ctx, status, msg)
		return
	}
	next(huma.WithValue(ctx, callerKey, user))
}

// authorizeTenant checks that the caller may act on the tenant with at least
// role need. A caller with no role gets 404, exactly as if it did not exist.
func authorizeTenant(ctx context.Context, tx *store.Tx, tenant string, need store.Role) (store.Role, error) {
	u := caller(ctx)
	if u.Admin {
		if _, err := tx.Tenant(ctx, tenant); errors.Is(err, store.ErrNotFound) {
			return "", tenantNotFound(tenant)
		} else if err != nil {
			return "", err
		}
		return store.RoleOwner, nil
	}
	role, err := tx.Role(ctx, u.ID, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return "", tenantNotFound(tenant)
	}
	if err != nil {
		return "", err
	}
	if !role.AtLeast(need) {
		return role, huma.Error403Forbidden("role " + string(role) + " in tenant " + tenant + " may not do this; it needs " + string(need))
	}
	return role, nil
}

func tenantNotFound(name string) error {
	return huma.Error404NotFound("tenant " + name + " not found")
}

func requireAdmin(ctx context.Context) error {
	if !caller(ctx).Admin {
		return huma.Error403Forbidden("only platform admins may do this")
	}
	return nil
}
