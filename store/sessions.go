package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Prefixes of the notebook proxy's secrets (api/v1 names them too): neither
// is an API token, and the authenticator refuses both as one.
const (
	HandoverPrefix = "fnh_"
	SessionPrefix  = "fns_"
)

// NotebookSession is a browser's access to one notebook, redeemed from a
// hand-over code.
type NotebookSession struct {
	Tenant    string
	Notebook  string
	User      User
	TokenID   string
	ExpiresAt time.Time
}

func newPrefixedSecret(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateNotebookHandover stores a one-time code for the user to open one
// notebook, bound to the API token tokenSecret the user asked with (a dead
// token is ErrNotFound). It returns the code, which is not kept, and when
// it expires.
func (tx *Tx) CreateNotebookHandover(ctx context.Context, tenant, notebook string, userID int64, tokenSecret string, ttl time.Duration) (string, time.Time, error) {
	tokenID, err := tx.liveTokenID(ctx, userID, HashToken(tokenSecret))
	if err != nil {
		return "", time.Time{}, err
	}
	code, err := newPrefixedSecret(HandoverPrefix)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := tx.now.Add(ttl).Truncate(time.Second)
	if _, err := tx.tx.ExecContext(ctx, "DELETE FROM notebook_handovers WHERE expires_at <= ?", tx.now.Unix()); err != nil {
		return "", time.Time{}, fmt.Errorf("prune hand-overs: %w", err)
	}
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO notebook_handovers (hash, tenant, notebook, user_id, token_id, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, HashToken(code), tenant, notebook, userID, tokenID, expires.Unix())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("create hand-over: %w", mapErr(err))
	}
	return code, expires, nil
}

// RedeemNotebookHandover spends a hand-over code for the notebook and
// starts a session of ttl for it; a redeemed code is gone (single use). An
// unknown, expired or spent code, one for another notebook, or one whose
// token is dead is ErrNotFound. It returns the session secret, which is not
// kept.
func (tx *Tx) RedeemNotebookHandover(ctx context.Context, code, tenant, notebook string, ttl time.Duration) (NotebookSession, string, error) {
	var s NotebookSession
	var userID, expires int64
	err := tx.tx.QueryRowContext(ctx, `DELETE FROM notebook_handovers WHERE hash = ?
		RETURNING tenant, notebook, user_id, token_id, expires_at`, HashToken(code)).Scan(&s.Tenant, &s.Notebook, &userID, &s.TokenID, &expires)
	if err != nil {
		return NotebookSession{}, "", mapErr(err)
	}
	if s.Tenant != tenant || s.Notebook != notebook || tx.now.Unix() >= expires {
		return NotebookSession{}, "", ErrNotFound
	}
	if s.User, err = tx.sessionUser(ctx, userID, s.TokenID); err != nil {
		return NotebookSession{}, "", err
	}
	secret, err := newPrefixedSecret(SessionPrefix)
	if err != nil {
		return NotebookSession{}, "", err
	}
	if _, err := tx.tx.ExecContext(ctx, "DELETE FROM notebook_sessions WHERE expires_at <= ?", tx.now.Unix()); err != nil {
		return NotebookSession{}, "", fmt.Errorf("prune sessions: %w", err)
	}
	s.ExpiresAt = tx.now.Add(ttl).Truncate(time.Second)
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO notebook_sessions (hash, tenant, notebook, user_id, token_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, HashToken(secret), tenant, notebook, userID, s.TokenID, tx.now.Unix(), s.ExpiresAt.Unix())
	if err != nil {
		return NotebookSession{}, "", fmt.Errorf("create session: %w", mapErr(err))
	}
	return s, secret, nil
}

// NotebookSessionFor authenticates a session secret for one notebook: a
// session of another notebook, an expired one, or one whose token was
// revoked or has expired is ErrNotFound.
func (tx *Tx) NotebookSessionFor(ctx context.Context, secret, tenant, notebook string) (NotebookSession, error) {
	s := NotebookSession{Tenant: tenant, Notebook: notebook}
	var userID, expires int64
	err := tx.tx.QueryRowContext(ctx, `SELECT user_id, token_id, expires_at FROM notebook_sessions
		WHERE hash = ? AND tenant = ? AND notebook = ?`, HashToken(secret), tenant, notebook).Scan(&userID, &s.TokenID, &expires)
	if err != nil {
		return NotebookSession{}, mapErr(err)
	}
	if tx.now.Unix() >= expires {
		return NotebookSession{}, ErrNotFound
	}
	s.ExpiresAt = time.Unix(expires, 0).UTC()
	if s.User, err = tx.sessionUser(ctx, userID, s.TokenID); err != nil {
		return NotebookSession{}, err
	}
	return s, nil
}

// RefreshNotebookSession moves a session's expiry to now+ttl (sliding expiry on use).
func (tx *Tx) RefreshNotebookSession(ctx context.Context, secret string, ttl time.Duration) error {
	_, err := tx.tx.ExecContext(ctx, "UPDATE notebook_sessions SET expires_at = ? WHERE hash = ? AND expires_at > ?",
		tx.now.Add(ttl).Unix(), HashToken(secret), tx.now.Unix())
	return err
}

// liveTokenID is the id of the user's token with this hash, if it is neither revoked nor expired.
func (tx *Tx) liveTokenID(ctx context.Context, userID int64, hash string) (string, error) {
	var id string
	var expires sql.NullString
	err := tx.tx.QueryRowContext(ctx, "SELECT id, expires_at FROM tokens WHERE hash = ? AND user_id = ? AND revoked_at IS NULL",
		hash, userID).Scan(&id, &expires)
	if err != nil {
		return "", mapErr(err)
	}
	if expires.Valid && !tx.now.Before(parseTime(expires.String)) {
		return "", ErrNotFound
	}
	return id, nil
}

// sessionUser is the user of a session whose token must still be live.
func (tx *Tx) sessionUser(ctx context.Context, userID int64, tokenID string) (User, error) {
	var u User
	var created string
	var expires sql.NullString
	err := tx.tx.QueryRowContext(ctx, `SELECT u.id, u.name, u.admin, u.created_at, t.expires_at
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.id = ? AND t.user_id = ? AND t.revoked_at IS NULL`, tokenID, userID).Scan(&u.ID, &u.Name, &u.Admin, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	if expires.Valid && !tx.now.Before(parseTime(expires.String)) {
		return User{}, ErrNotFound
	}
	u.CreatedAt = parseTime(created)
	return u, nil
}
