package store

import (
	"context"
	"fmt"
)

// auditTriggers make the audit table append-only. They are created by the
// first migration and again at every Open, so a dropped one comes back.
const auditTriggers = `
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;`

// ensureAuditTriggers re-creates the append-only triggers if someone dropped them.
func (db *DB) ensureAuditTriggers(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, auditTriggers); err != nil {
		return fmt.Errorf("store: audit triggers: %w", err)
	}
	return nil
}

// AuditHead is the last row of the chain: its id and hash (0 and the
// genesis hash for an empty log).
func (tx *Tx) AuditHead(ctx context.Context) (int64, string, error) {
	var id int64
	hash := genesis
	err := tx.tx.QueryRowContext(ctx, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").Scan(&id, &hash)
	if err != nil && mapErr(err) != ErrNotFound {
		return 0, "", fmt.Errorf("read audit head: %w", err)
	}
	return id, hash, nil
}

// AuditHash is the stored hash of row id; a missing row is ErrNotFound.
func (tx *Tx) AuditHash(ctx context.Context, id int64) (string, error) {
	var hash string
	if err := tx.tx.QueryRowContext(ctx, "SELECT hash FROM audit WHERE id = ?", id).Scan(&hash); err != nil {
		return "", mapErr(err)
	}
	return hash, nil
}

// AuditAnchor checks the chain against what the database does not hold
// (signed checkpoints elsewhere). It returns what is missing or altered.
type AuditAnchor interface {
	CheckAudit(ctx context.Context, tx *Tx) ([]string, error)
}

type anchorBox struct{ a AuditAnchor }

// SetAuditAnchor makes VerifyAudit's callers check the chain against a;
// nil removes it.
func (db *DB) SetAuditAnchor(a AuditAnchor) {
	if a == nil {
		db.anchor.Store(nil)
		return
	}
	db.anchor.Store(&anchorBox{a})
}

// AuditAnchor is what SetAuditAnchor set, or nil.
func (db *DB) AuditAnchor() AuditAnchor {
	if b := db.anchor.Load(); b != nil {
		return b.a
	}
	return nil
}
