package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one row of the append-only, hash-chained audit log.
type AuditEntry struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Tenant   string    `json:"tenant,omitempty"`
	Target   string    `json:"target,omitempty"`
	Result   string    `json:"result"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prevHash"`
	Hash     string    `json:"hash"`
}

// AuditFilter selects audit rows; After is a keyset cursor (rows with smaller IDs).
type AuditFilter struct {
	Tenant string
	Actor  string
	After  int64
	Limit  int
}

var genesis = strings.Repeat("0", 64)

// chainHash is sha256 over the previous hash and every field of the row.
func chainHash(e AuditEntry) string {
	h := sha256.New()
	for _, f := range []string{e.PrevHash, strconv.FormatInt(e.ID, 10), formatTime(e.Time), e.Actor, e.Action, e.Tenant, e.Target, e.Result, e.Detail} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Maximum lengths of an audit row's fields; longer values are cut.
const (
	MaxAuditActor  = 64
	MaxAuditAction = 64
	MaxAuditTenant = 64
	MaxAuditTarget = 512
	MaxAuditResult = 16
	MaxAuditDetail = 2048
)

// AppendAudit writes one row at the end of the chain, in the caller's
// transaction. Fields longer than their maximum are cut.
func (tx *Tx) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	e.Actor, e.Action, e.Tenant = truncate(e.Actor, MaxAuditActor), truncate(e.Action, MaxAuditAction), truncate(e.Tenant, MaxAuditTenant)
	e.Target, e.Result, e.Detail = truncate(e.Target, MaxAuditTarget), truncate(e.Result, MaxAuditResult), truncate(e.Detail, MaxAuditDetail)
	var lastID int64
	prev := genesis
	err := tx.tx.QueryRowContext(ctx, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").Scan(&lastID, &prev)
	if err != nil && mapErr(err) != ErrNotFound {
		return AuditEntry{}, fmt.Errorf("read audit tail: %w", err)
	}
	e.ID, e.PrevHash, e.Time = lastID+1, prev, tx.now
	e.Hash = chainHash(e)
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO audit (id, time, actor, action, tenant, target, result, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, formatTime(e.Time), e.Actor, e.Action, e.Tenant, e.Target, e.Result, e.Detail, e.PrevHash, e.Hash)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("append audit: %w", err)
	}
	return e, nil
}

const auditCols = "id, time, actor, action, tenant, target, result, detail, prev_hash, hash"

// ListAudit lists rows newest first, filtered, after the cursor.
func (tx *Tx) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	if f.Tenant != "" {
		where, args = append(where, "tenant = ?"), append(args, f.Tenant)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.After > 0 {
		where, args = append(where, "id < ?"), append(args, f.After)
	}
	q := "SELECT " + auditCols + " FROM audit"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := tx.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		e, err := scanAudit(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanAudit(scan func(...any) error) (AuditEntry, error) {
	var e AuditEntry
	var t string
	err := scan(&e.ID, &t, &e.Actor, &e.Action, &e.Tenant, &e.Target, &e.Result, &e.Detail, &e.PrevHash, &e.Hash)
	e.Time = parseTime(t)
	return e, err
}

// VerifyAudit walks the whole chain. It returns 0 when intact, or the ID of
// the first row whose link or content does not match.
func (tx *Tx) VerifyAudit(ctx context.Context) (int64, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+auditCols+" FROM audit ORDER BY id")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	prev, want := genesis, int64(1)
	for rows.Next() {
		e, err := scanAudit(rows.Scan)
		if err != nil {
			return 0, err
		}
		// Re-parse the stored time exactly as written; a tampered time changes the hash.
		if e.ID != want || e.PrevHash != prev || chainHash(e) != e.Hash {
			return e.ID, nil
		}
		prev, want = e.Hash, e.ID+1
	}
	return 0, rows.Err()
}
