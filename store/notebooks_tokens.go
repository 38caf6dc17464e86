package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NotebookScope is the scope of a notebook's token: its user's role (at
// most editor) in one tenant, and nothing outside that tenant.
func NotebookScope(tenant, notebook string) string {
	return "tenant:" + tenant + ":notebook:" + notebook
}

// ParseScope reads a scope: the one tenant a scoped token is limited to,
// and for a run token (RunScope) its run. ok is false for "" and for any
// form it does not know (which must then be refused).
func ParseScope(scope string) (tenant, run string, ok bool) {
	kind, rest, _ := strings.Cut(scope, ":")
	switch kind {
	case "run":
		tenant, run, ok = strings.Cut(rest, ":")
		return tenant, run, ok && tenant != "" && run != ""
	case "tenant":
		tenant, nb, ok := strings.Cut(rest, ":notebook:")
		return tenant, "", ok && tenant != "" && nb != "" && !strings.Contains(tenant, ":")
	}
	return "", "", false
}

// NotebookToken is what the store knows of a notebook's token.
type NotebookToken struct {
	// ID is the token ("" for none).
	ID string
	// Written says the notebook's Secret holds it.
	Written bool
	// Live says it is neither revoked nor expired.
	Live bool
}

// NotebookToken reads a notebook's token.
func (tx *Tx) NotebookToken(ctx context.Context, tenant, name string) (NotebookToken, error) {
	var t NotebookToken
	var id, expires sql.NullString
	var revoked sql.NullBool
	err := tx.tx.QueryRowContext(ctx, `SELECT n.token_id, n.token_written, t.revoked_at IS NOT NULL, t.expires_at
		FROM notebooks n LEFT JOIN tokens t ON t.id = n.token_id WHERE n.tenant = ? AND n.name = ?`, tenant, name).
		Scan(&id, &t.Written, &revoked, &expires)
	if err != nil {
		return NotebookToken{}, mapErr(err)
	}
	t.ID = id.String
	t.Live = t.ID != "" && revoked.Valid && !revoked.Bool && (!expires.Valid || tx.now.Before(parseTime(expires.String)))
	return t, nil
}

// MintNotebookToken makes a running notebook's token, as its creator and
// scoped to it (NotebookScope), and records it as not yet written; the
// token it replaces, if any, is revoked. A notebook that is not running
// is ErrNotFound. It returns the token and its secret, which is not kept.
func (tx *Tx) MintNotebookToken(ctx context.Context, tenant, name string, ttl time.Duration) (Token, string, error) {
	n, err := tx.Notebook(ctx, tenant, name)
	if err != nil {
		return Token{}, "", err
	}
	if n.State != NotebookRunning {
		return Token{}, "", fmt.Errorf("notebook %s/%s is %s: %w", tenant, name, n.State, ErrNotFound)
	}
	u, err := tx.UserByName(ctx, n.CreatedBy)
	if err != nil {
		return Token{}, "", fmt.Errorf("creator %s of notebook %s/%s: %w", n.CreatedBy, tenant, name, err)
	}
	if err := tx.revokeNotebookToken(ctx, tenant, name); err != nil {
		return Token{}, "", err
	}
	t, secret, err := tx.CreateScopedToken(ctx, u.ID, "notebook "+tenant+"/"+name, NotebookScope(tenant, name), ttl)
	if err != nil {
		return Token{}, "", err
	}
	_, err = tx.tx.ExecContext(ctx, "UPDATE notebooks SET token_id = ?, token_written = 0 WHERE tenant = ? AND name = ?", t.ID, tenant, name)
	if err != nil {
		return Token{}, "", mapErr(err)
	}
	return t, secret, nil
}

// NotebookTokenWritten records that the notebook's Secret holds token id
// (a token replaced meanwhile stays unwritten).
func (tx *Tx) NotebookTokenWritten(ctx context.Context, tenant, name, id string) error {
	_, err := tx.tx.ExecContext(ctx, "UPDATE notebooks SET token_written = 1 WHERE tenant = ? AND name = ? AND token_id = ?", tenant, name, id)
	return mapErr(err)
}

// EndNotebookToken revokes a notebook's token and forgets it: its Secret is gone.
func (tx *Tx) EndNotebookToken(ctx context.Context, tenant, name string) error {
	if err := tx.revokeNotebookToken(ctx, tenant, name); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, "UPDATE notebooks SET token_id = NULL, token_written = 0 WHERE tenant = ? AND name = ?", tenant, name)
	return mapErr(err)
}

// revokeNotebookToken revokes a notebook's token, if it has a live one.
func (tx *Tx) revokeNotebookToken(ctx context.Context, tenant, name string) error {
	var id sql.NullString
	err := tx.tx.QueryRowContext(ctx, "SELECT token_id FROM notebooks WHERE tenant = ? AND name = ?", tenant, name).Scan(&id)
	if err != nil || !id.Valid {
		return mapErr(err)
	}
	if err := tx.RevokeTokenID(ctx, id.String); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
