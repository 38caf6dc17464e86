package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
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

// metaNoAudit marks an operation that changes no platform state (a node
// agent's periodic report), so it writes no audit row.
const metaNoAudit = "ferry.noAudit"

// auditMiddleware guarantees one audit row per authenticated mutating
// request, allowed or not. It runs after authentication: requests without
// a caller write nothing (authMiddleware counts them).
func (s *Server) auditMiddleware(ctx huma.Context, next func(huma.Context)) {
	switch ctx.Method() {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		next(ctx)
		return
	}
	if op := ctx.Operation(); op != nil && op.Metadata[metaNoAudit] == true {
		next(ctx)
		return
	}
	who := caller(ctx.Context())
	if who.ID == 0 {
		next(ctx)
		return
	}
	rec := &auditRecord{action: ctx.Operation().OperationID, actor: who.Name, tenant: ctx.Param("tenant"), target: ctx.URL().Path}
	next(huma.WithValue(ctx, auditKey, rec))
	if rec.written {
		return
	}
	status := ctx.Status()
	e := store.AuditEntry{Actor: rec.actor, Action: rec.action, Tenant: rec.tenant, Target: rec.target,
		Result: resultFor(status), Detail: "status " + strconv.Itoa(status)}
	// The request's context may be cancelled (client gone); the row must still land.
	_ = s.audit(ctx.Context(), e)
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

// recorder is the success audit row of a change that another component
// (a controller) commits in its own transaction: it calls record inside
// that transaction, and the handler calls committed once it returned.
type recorder struct {
	rec    *auditRecord
	record func(*store.Tx) error
}

func (s *Server) recorder(ctx context.Context, tenant, target string) (*recorder, error) {
	rec, _ := ctx.Value(auditKey).(*auditRecord)
	if rec == nil {
		return nil, errors.New("api: change outside an audited request")
	}
	rec.tenant, rec.target = tenant, target
	return &recorder{rec: rec, record: func(tx *store.Tx) error {
		_, err := tx.AppendAudit(ctx, store.AuditEntry{Actor: caller(ctx).Name, Action: rec.action, Tenant: tenant, Target: target, Result: "ok"})
		return err
	}}, nil
}

// committed marks the row written, so the middleware writes no failure row.
func (r *recorder) committed() { r.rec.written = true }

// readAs runs fn on a read snapshot once the caller holds at least role
// need in the tenant (a caller with no role there gets 404).
func (s *Server) readAs(ctx context.Context, tenant string, need store.Role, fn func(*store.Tx) error) error {
	return s.read(ctx, func(tx *store.Tx) error {
		if _, err := authorizeTenant(ctx, tx, tenant, need); err != nil {
			return err
		}
		return fn(tx)
	})
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
		// The store's error carries SQLite's constraint text; handlers that
		// know the field map it themselves (conflict).
		return huma.Error409Conflict("conflict: the object already exists")
	case errors.Is(err, store.ErrInvalid):
		return huma.Error422UnprocessableEntity(err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return huma.NewError(http.StatusServiceUnavailable, "request cancelled or timed out")
	}
	s.log.Error("internal error", "err", err)
	return huma.Error500InternalServerError("internal error")
}

type auditListInput struct {
	Tenant string    `query:"tenant" maxLength:"57" doc:"only rows about this tenant"`
	Actor  string    `query:"actor" maxLength:"63" doc:"only rows by this user"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"50"`
	After  v1.Cursor `query:"after" maxLength:"32" doc:"keyset cursor: the next value of the previous page"`
}

type auditListOutput struct {
	Body v1.List[v1.AuditEntry]
}

type auditVerifyOutput struct {
	Body v1.AuditVerify
}

func (s *Server) auditRoutes() {
	register(s, huma.Operation{OperationID: "listAudit", Method: http.MethodGet, Path: v1.PathAudit, Tags: []string{"audit"},
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
				after, err := idCursor(in.After)
				if err != nil {
					return err
				}
				items, err := tx.ListAudit(ctx, store.AuditFilter{Tenant: in.Tenant, Actor: in.Actor, After: after, Limit: in.Limit})
				out.Body = page(items, in.Limit, toAudit, func(e store.AuditEntry) string { return strconv.FormatInt(e.ID, 10) })
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "verifyAudit", Method: http.MethodGet, Path: v1.PathAuditVerify, Tags: []string{"audit"},
		Summary: "Verify the audit log's hash chain (admin)"},
		func(ctx context.Context, _ *struct{}) (*auditVerifyOutput, error) {
			if err := requireAdmin(ctx); err != nil {
				return nil, err
			}
			out := &auditVerifyOutput{}
			err := s.read(ctx, func(tx *store.Tx) error {
				broken, err := tx.VerifyAudit(ctx)
				if err != nil {
					return err
				}
				out.Body.BrokenAt = broken
				if broken != 0 {
					out.Body.Problems = append(out.Body.Problems, "row "+strconv.FormatInt(broken, 10)+" does not match the hash chain (edited, inserted or removed)")
				}
				// The chain alone misses a recomputed chain or a cut tail: check it
				// against the signed checkpoint kept outside the database.
				if a := s.db.AuditAnchor(); a != nil {
					problems, err := a.CheckAudit(ctx, tx)
					if err != nil {
						return err
					}
					out.Body.Problems = append(out.Body.Problems, problems...)
				}
				out.Body.OK = len(out.Body.Problems) == 0
				return nil
			})
			return out, err
		})
}
