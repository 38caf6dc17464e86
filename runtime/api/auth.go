package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

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

// caller is the authenticated user of a request. A token limited to one
// tenant is never a platform admin, whoever its user is.
func caller(ctx context.Context) store.User {
	id := identity(ctx)
	if id.Scope != "" {
		id.Admin = false
	}
	return id.User
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
	user, err := s.authn.TenantTokenIdentity(ctx.Context(), secret)
	if err == nil {
		err = tenantTokenMay(ctx, user)
	}
	if err != nil {
		status, msg := http.StatusUnauthorized, err.Error()
		switch {
		case errors.Is(err, auth.ErrNoCredentials):
			s.metrics.unauthenticated.WithLabelValues("missing").Inc()
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="ferry"`)
		case errors.Is(err, auth.ErrInvalid):
			s.metrics.unauthenticated.WithLabelValues("invalid").Inc()
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="ferry", error="invalid_token"`)
		case errors.Is(err, auth.ErrScoped), errors.Is(err, auth.ErrTenantScoped):
			s.metrics.unauthenticated.WithLabelValues("scoped").Inc()
			status = http.StatusForbidden
		case errors.Is(err, errOtherTenant):
			s.metrics.unauthenticated.WithLabelValues("scoped").Inc()
			status, msg = http.StatusNotFound, "tenant "+bound(ctx.Param("tenant"), maxEcho)+" not found"
		default:
			s.log.Error("authenticate", "err", err)
			status, msg = http.StatusServiceUnavailable, "could not check the token"
		}
		_ = huma.WriteErr(s.api, ctx, status, msg)
		return
	}
	next(huma.WithValue(ctx, callerKey, user))
}

// notForTenantTokens are the operations under /tenants/{tenant} that a
// token limited to that tenant (a notebook's) may not call, whatever its
// user's role: each hands out a credential that would outlive the notebook
// (a browser session to a notebook, a deployment's API key, a new or
// restarted notebook whose pod gets a fresh token of its own, a schedule
// that keeps starting runs as the user) or changes who may act in the
// tenant.
var notForTenantTokens = map[string]bool{
	"createNotebookSession": true,
	"createDeploymentKey":   true,
	"createNotebook":        true,
	"startNotebook":         true,
	"createSchedule":        true,
	"resumeSchedule":        true,
	"putMember":             true,
	"deleteMember":          true,
}

// errOtherTenant: a tenant-scoped token on another tenant's path (404, as
// for a non-member).
var errOtherTenant = errors.New("another tenant")

// tenantTokenMay is the one gate of a token limited to one tenant: it may
// call only operations under /tenants/{tenant} of its own tenant, none of
// notForTenantTokens. Everything else (users, tokens, audit, admin, UI
// sessions, other tenants) is refused before the handler runs, and
// authorizeTenant (auth.TenantRole) holds it to its tenant and to
// auth.MaxScopedRole inside. An unscoped token passes.
func tenantTokenMay(ctx huma.Context, id auth.TokenIdentity) error {
	if id.Scope == "" {
		return nil
	}
	op := ctx.Operation()
	if op == nil || !strings.HasPrefix(op.Path, v1.PathTenant+"/") && op.Path != v1.PathTenant || notForTenantTokens[op.OperationID] {
		return auth.ErrTenantScoped
	}
	if ctx.Param("tenant") != id.Tenant {
		return errOtherTenant
	}
	return nil
}

// authorizeTenant checks that the caller may act on the tenant with at least
// role need. A caller with no role gets 404, exactly as if it did not exist.
func authorizeTenant(ctx context.Context, tx *store.Tx, tenant string, need store.Role) (store.Role, error) {
	role, err := auth.TenantRole(ctx, tx, identity(ctx), tenant)
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
