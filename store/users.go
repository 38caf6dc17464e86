package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// User is a person or robot that holds tokens.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"createdAt"`
	// Disabled users' tokens do not authenticate.
	Disabled bool `json:"disabled,omitempty"`
}

// Token is an API token's metadata; the secret itself is never stored.
type Token struct {
	ID        string     `json:"id"`
	UserID    int64      `json:"-"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// ParentID is the token this one was minted with ("" for none).
	ParentID string `json:"parentId,omitempty"`
	// Scope narrows what the token may do: "" is all its user may;
	// RunScope(tenant, run) writes only to that MLflow run.
	Scope string `json:"scope,omitempty"`
}

// MaxTokenName bounds a token's stored name.
const MaxTokenName = 100

// MaxUserName bounds a user's name (a DNS-1123 label).
const MaxUserName = 63

// TokenPrefix starts every ferry token, so leaked tokens are easy to grep for.
const TokenPrefix = "ferry_"

// NewSecret returns a random 256-bit token secret.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is the SHA-256 (hex) under which a token is stored.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateUser inserts a user; a taken name is ErrConflict.
func (tx *Tx) CreateUser(ctx context.Context, name string, admin bool) (User, error) {
	if len(name) > MaxUserName {
		return User{}, fmt.Errorf("create user: name longer than %d bytes", MaxUserName)
	}
	u := User{Name: name, Admin: admin, CreatedAt: tx.now}
	res, err := tx.tx.ExecContext(ctx, "INSERT INTO users (name, admin, created_at) VALUES (?, ?, ?)",
		name, admin, formatTime(tx.now))
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", name, mapErr(err))
	}
	u.ID, err = res.LastInsertId()
	return u, err
}

// UserByName looks a user up by name.
func (tx *Tx) UserByName(ctx context.Context, name string) (User, error) {
	return scanUser(tx.tx.QueryRowContext(ctx, "SELECT id, name, admin, created_at, disabled_at IS NOT NULL FROM users WHERE name = ?", name))
}

// SetUserDisabled disables or enables a user; a disabled user's tokens stop
// authenticating at once.
func (tx *Tx) SetUserDisabled(ctx context.Context, name string, disabled bool) (User, error) {
	var at any
	if disabled {
		at = formatTime(tx.now)
	}
	res, err := tx.tx.ExecContext(ctx, "UPDATE users SET disabled_at = CASE WHEN ? IS NULL THEN NULL ELSE coalesce(disabled_at, ?) END WHERE name = ?", at, at, name)
	if err != nil {
		return User{}, mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return User{}, ErrNotFound
	}
	return tx.UserByName(ctx, name)
}

// HasAdmin reports whether any platform admin exists.
func (tx *Tx) HasAdmin(ctx context.Context) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE admin = 1").Scan(&n)
	return n > 0, err
}

func scanUser(row *sql.Row) (User, error) {
	var u User
	var created string
	if err := row.Scan(&u.ID, &u.Name, &u.Admin, &created, &u.Disabled); err != nil {
		return User{}, mapErr(err)
	}
	u.CreatedAt = parseTime(created)
	return u, nil
}

// CreateToken stores the hash of a new secret for the user and returns the
// metadata and the secret (which is not kept anywhere).
func (tx *Tx) CreateToken(ctx context.Context, userID int64, name string, ttl time.Duration) (Token, string, error) {
	t := Token{UserID: userID, Name: name}
	if ttl > 0 {
		e := tx.now.Add(ttl)
		t.ExpiresAt = &e
	}
	return tx.insertToken(ctx, t)
}

// CreateChildToken creates a token for the owner of the token parentID
// (the one the request authenticated with). It expires no later than its
// parent: ttl 0 or a ttl past the parent's expiry gets the parent's.
func (tx *Tx) CreateChildToken(ctx context.Context, parentID, name string, ttl time.Duration) (Token, string, error) {
	var userID int64
	var expires sql.NullString
	err := tx.tx.QueryRowContext(ctx, "SELECT user_id, expires_at FROM tokens WHERE id = ? AND revoked_at IS NULL", parentID).Scan(&userID, &expires)
	if err != nil {
		return Token{}, "", fmt.Errorf("parent token %s: %w", parentID, mapErr(err))
	}
	t := Token{UserID: userID, Name: name, ParentID: parentID}
	if ttl > 0 {
		e := tx.now.Add(ttl)
		t.ExpiresAt = &e
	}
	if expires.Valid {
		pe := parseTime(expires.String)
		if t.ExpiresAt == nil || t.ExpiresAt.After(pe) {
			t.ExpiresAt = &pe
		}
	}
	return tx.insertToken(ctx, t)
}

// CreateScopedToken creates a token of the user limited to scope (see
// Token.Scope), e.g. the one a job's pods log to their run with.
func (tx *Tx) CreateScopedToken(ctx context.Context, userID int64, name, scope string, ttl time.Duration) (Token, string, error) {
	if scope == "" {
		return Token{}, "", invalidf("a scoped token needs a scope")
	}
	t := Token{UserID: userID, Name: name, Scope: scope}
	if ttl > 0 {
		e := tx.now.Add(ttl)
		t.ExpiresAt = &e
	}
	return tx.insertToken(ctx, t)
}

func (tx *Tx) insertToken(ctx context.Context, t Token) (Token, string, error) {
	secret, err := NewSecret()
	if err != nil {
		return Token{}, "", err
	}
	t.ID, t.CreatedAt, t.Name = newID(), tx.now, truncate(t.Name, MaxTokenName)
	var expires, parent any
	if t.ExpiresAt != nil {
		expires = formatTime(*t.ExpiresAt)
	}
	if t.ParentID != "" {
		parent = t.ParentID
	}
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO tokens (id, user_id, name, hash, created_at, expires_at, parent_id, scope)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.UserID, t.Name, HashToken(secret), formatTime(tx.now), expires, parent, t.Scope)
	if err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", mapErr(err))
	}
	return t, secret, nil
}

// Authenticate returns the user owning a live (not revoked, not expired) token.
func (tx *Tx) Authenticate(ctx context.Context, secret string) (User, error) {
	u, _, err := tx.AuthenticateToken(ctx, secret)
	return u, err
}

// AuthenticateToken returns the user owning a live token (not revoked, not
// expired, its user not disabled) and that token.
func (tx *Tx) AuthenticateToken(ctx context.Context, secret string) (User, Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return User{}, Token{}, ErrNotFound
	}
	var u User
	var t Token
	var created, tcreated string
	var expires, parent sql.NullString
	err := tx.tx.QueryRowContext(ctx, `SELECT u.id, u.name, u.admin, u.created_at, t.id, t.name, t.created_at, t.expires_at, t.parent_id, t.scope
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.hash = ? AND t.revoked_at IS NULL AND u.disabled_at IS NULL`, HashToken(secret)).
		Scan(&u.ID, &u.Name, &u.Admin, &created, &t.ID, &t.Name, &tcreated, &expires, &parent, &t.Scope)
	if err != nil {
		return User{}, Token{}, mapErr(err)
	}
	if expires.Valid {
		e := parseTime(expires.String)
		if !tx.now.Before(e) {
			return User{}, Token{}, ErrNotFound
		}
		t.ExpiresAt = &e
	}
	u.CreatedAt, t.CreatedAt, t.UserID, t.ParentID = parseTime(created), parseTime(tcreated), u.ID, parent.String
	return u, t, nil
}

// ListTokens lists a user's live tokens, oldest first.
func (tx *Tx) ListTokens(ctx context.Context, userID int64) ([]Token, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT id, name, created_at, expires_at FROM tokens
		WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t := Token{UserID: userID}
		var created string
		var expires sql.NullString
		if err := rows.Scan(&t.ID, &t.Name, &created, &expires); err != nil {
			return nil, err
		}
		t.CreatedAt = parseTime(created)
		if expires.Valid {
			e := parseTime(expires.String)
			t.ExpiresAt = &e
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes one of the user's own tokens and every token minted
// with it (children, their children, ...); another user's token is ErrNotFound.
func (tx *Tx) RevokeToken(ctx context.Context, userID int64, id string) error {
	return tx.revoke(ctx, id, userID)
}

// RevokeTokenID revokes a token (and its descendants) whoever owns it: the
// control plane ending a job's run token.
func (tx *Tx) RevokeTokenID(ctx context.Context, id string) error {
	return tx.revoke(ctx, id, 0)
}

func (tx *Tx) revoke(ctx context.Context, id string, userID int64) error {
	res, err := tx.tx.ExecContext(ctx, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND (? = 0 OR user_id = ?) AND revoked_at IS NULL",
		formatTime(tx.now), id, userID, userID)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	_, err = tx.tx.ExecContext(ctx, `WITH RECURSIVE tree(id) AS (
			SELECT id FROM tokens WHERE parent_id = ?
			UNION SELECT t.id FROM tokens t JOIN tree ON t.parent_id = tree.id)
		UPDATE tokens SET revoked_at = ? WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL`, id, formatTime(tx.now))
	return err
}
