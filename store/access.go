package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AccessKind is what was read.
type AccessKind string

// Access kinds.
const (
	AccessArtifact AccessKind = "artifact"
	AccessModel    AccessKind = "model"
	AccessLog      AccessKind = "log"
)

// Bounds of an access row's fields; longer values are cut.
const (
	MaxAccessActor  = 64
	MaxAccessObject = 512
)

// Access is one read of a tenant's data: who, what, when.
type Access struct {
	ID     int64
	Time   time.Time
	Tenant string
	Actor  string
	Kind   AccessKind
	Object string
}

// RecordAccess appends one access row (time: the transaction's).
func (tx *Tx) RecordAccess(ctx context.Context, a Access) error {
	switch a.Kind {
	case AccessArtifact, AccessModel, AccessLog:
	default:
		return fmt.Errorf("record access: kind %q: %w", a.Kind, ErrInvalid)
	}
	_, err := tx.tx.ExecContext(ctx, "INSERT INTO access_log (time, tenant, actor, kind, object) VALUES (?, ?, ?, ?, ?)",
		tx.now.Unix(), a.Tenant, truncate(a.Actor, MaxAccessActor), string(a.Kind), truncate(a.Object, MaxAccessObject))
	if err != nil {
		return fmt.Errorf("record access: %w", mapErr(err))
	}
	return nil
}

// AccessFilter selects a tenant's access rows; After is a keyset cursor
// (rows with smaller ids: newest first).
type AccessFilter struct {
	Tenant string
	Actor  string
	Kind   AccessKind
	After  int64
	Limit  int
}

// ListAccess lists a tenant's access rows, newest first.
func (tx *Tx) ListAccess(ctx context.Context, f AccessFilter) ([]Access, error) {
	q := "SELECT id, time, tenant, actor, kind, object FROM access_log WHERE tenant = ?"
	args := []any{f.Tenant}
	if f.Actor != "" {
		q, args = q+" AND actor = ?", append(args, f.Actor)
	}
	if f.Kind != "" {
		q, args = q+" AND kind = ?", append(args, string(f.Kind))
	}
	if f.After > 0 {
		q, args = q+" AND id < ?", append(args, f.After)
	}
	q += " ORDER BY id DESC LIMIT ?"
	rows, err := tx.tx.QueryContext(ctx, q, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Access{}
	for rows.Next() {
		var a Access
		var t int64
		var kind string
		if err := rows.Scan(&a.ID, &t, &a.Tenant, &a.Actor, &kind, &a.Object); err != nil {
			return nil, err
		}
		a.Time, a.Kind = time.Unix(t, 0).UTC(), AccessKind(kind)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AccessRetention bounds the access log.
type AccessRetention struct {
	// Age: rows older are deleted (default 90 days).
	Age time.Duration
	// Rows: at most this many are kept per tenant, the newest (default 1,000,000).
	Rows int64
}

// Validate fills defaults.
func (r *AccessRetention) Validate() error {
	if r.Age <= 0 {
		r.Age = 90 * 24 * time.Hour
	}
	if r.Rows <= 0 {
		r.Rows = 1_000_000
	}
	return nil
}

// PruneAccess deletes the rows older than the retention and those beyond
// its row count (the oldest first), and says how many went.
func (tx *Tx) PruneAccess(ctx context.Context, now time.Time, r AccessRetention) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM access_log WHERE time < ?", now.Add(-r.Age).Unix())
	if err != nil {
		return 0, fmt.Errorf("prune access log: %w", err)
	}
	n, _ := res.RowsAffected()
	// The row bound is per tenant: one tenant's flood of reads cannot push
	// another's history out.
	rows, err := tx.tx.QueryContext(ctx, "SELECT tenant FROM access_log GROUP BY tenant HAVING count(*) > ?", r.Rows)
	if err != nil {
		return 0, fmt.Errorf("prune access log: %w", err)
	}
	var over []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, err
		}
		over = append(over, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("prune access log: %w", err)
	}
	for _, t := range over {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM access_log WHERE tenant = ? AND id < (
			SELECT id FROM access_log WHERE tenant = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, t, t, r.Rows-1)
		if err != nil {
			return 0, fmt.Errorf("prune access log of %s: %w", t, err)
		}
		m, _ := res.RowsAffected()
		n += m
	}
	return n, nil
}
