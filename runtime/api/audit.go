package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ferry-ml/ferry/store"
)

// auditRecord travels with a mutating request: the handler fills in what it
// touched; if the change did not commit, the middleware writes the failure row.
type auditRecord struct {
	action  string
	actor   string
	tenant  string
	target  string
	written bool
}

// auditMiddleware guarantees one audit row per mutating request, allowed or not.
func (s *Server) auditMiddleware(ctx huma.Context, next func(huma.Context)) {
	switch ctx.Method() {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		next(ctx)
		return
	}
	rec := &auditRecord{action: ctx.Operation().OperationID, actor: "anonymous", tenant: ctx.Param("name"), target: ctx.URL().Path}
	next(huma.WithValue(ctx, auditKey, rec))
	if rec.written {
		return
	}
	status := ctx.Status()
	e := store.AuditEntry{Actor: rec.actor, Action: rec.action, Tenant: rec.tenant, Target: rec.target,
		Result: resultFor(status), Detail: "status " + strconv.Itoa(status)}
	// The request's context may be cancelled (client gone); the row must still land.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx.Context()), 10*time.Second)
	defer cancel()
	if err := s.db.Write(wctx, func(tx *store.Tx) error { _, err := tx.AppendAudit(wctx, e); return err }); err != nil {
		s.log.Error("write audit row", "action", rec.action, "err", err)
	}
}

func resultFor(status int) string {
	switch {
	case status < 300:
		return "ok"
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		return "denied"
	case status < 500:
		return "invalid"
	default:
		return "error"
	}
}

// mutate runs fn and the success audit row in one write transaction.
func (s *Server) mutate(ctx context.Context, tenant, target string, fn func(*store.Tx) error) error {
	rec, _ := ctx.Value(auditKey).(*auditRecord)
	if rec == nil {
		return errors.New("api: mutate outside an audited request")
	}
	rec.tenant, rec.target = tenant, target
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, store.AuditEntry{Actor: caller(ctx).Name, Action: rec.action, Tenant: tenant, Target: target, Result: "ok"})
		return err
	})
	if err != nil {
		return s.httpError(err)
	}
	rec.written = true
	return nil
}

// read runs fn on a read snapshot and maps its error.
func (s *Server) read(ctx context.Context, fn func(*store.Tx) error) error {
	return s.httpError(s.db.Read(ctx, fn))
}

// httpError is the one place that maps store errors to HTTP problems.
func (s *Server) httpError(err error) error {
	if err == nil {
		return nil
	}
	var se huma.StatusError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, store.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, store.ErrConflict):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return huma.NewError(http.StatusServiceUnavailable, "request cancelled or timed out")
	}
	s.log.Error("internal error", "err", err)
	return huma.Error500InternalServerError("internal error")
}

type auditListInput struct {
	Tenant string `query:"tenant" doc:"only rows about this tenant"`
	Actor  string `query:"actor" doc:"only rows by this user"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
	After  int64  `query:"after" minimum:"0" doc:"keyset cursor: the next value of the previous page"`
}

type auditListOutput struct {
	Body struct {
		Items []store.AuditEntry `json:"items"`
		Next  string             `json:"next,omitempty" doc:"pass as after= for the next page"`
	}
}

type auditVerifyOutput struct {
	Body struct {
		OK       bool  `json:"ok"`
		BrokenAt int64 `json:"brokenAt,omitempty"`
	}
}

func (s *Server) auditRoutes() {
	register(s, huma.Operation{OperationID: "listAudit", Method: http.MethodGet, Path: "/api/v1/audit", Tags: []string{"audit"},
		Summary: "List audit rows, newest first (admin, or owner with tenant=)"},
		func(ctx context.Context, in *auditListInput) (*auditListOutput, error) {
			out := &auditListOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				if !caller(ctx).Admin {
					if in.Tenant == "" {
						return huma.Error403Forbidden("only platform admins may list the audit log without tenant=")
					}
					if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleOwner); err != nil {
						return err
					}
				}
				items, err := tx.ListAudit(ctx, store.AuditFilter{Tenant: in.Tenant, Actor: in.Actor, After: in.After, Limit: in.Limit})
				out.Body.Items = items
				if len(items) == in.Limit {
					out.Body.Next = strconv.FormatInt(items[len(items)-1].ID, 10)
				}
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "verifyAudit", Method: http.MethodGet, Path: "/api/v1/audit/verify", Tags: []string{"audit"},
		Summary: "Verify the audit log's hash chain (admin)"},
		func(ctx context.Context, _ *struct{}) (*auditVerifyOutput, error) {
			if err := requireAdmin(ctx); err != nil {
				return nil, err
			}
			out := &auditVerifyOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				broken, err := tx.VerifyAudit(ctx)
				out.Body.OK, out.Body.BrokenAt = broken == 0, broken
				return err
			})
			return out, err
		})
}
