package store

import (
	"context"
	"fmt"
	"time"
)

// UIHandoverPrefix starts every dashboard login code (api/v1 names it too).
const UIHandoverPrefix = "fuh_"

// UISessionTokenName names the child tokens that dashboard sessions are.
const UISessionTokenName = "dashboard session"

// CreateUIHandover stores a one-time dashboard login code for the user,
// bound to the live API token tokenSecret (a dead token is ErrNotFound). It
// returns the code, which is not kept, and when it expires.
func (tx *Tx) CreateUIHandover(ctx context.Context, userID int64, tokenSecret string, ttl time.Duration) (string, time.Time, error) {
	tokenID, err := tx.liveTokenID(ctx, userID, HashToken(tokenSecret))
	if err != nil {
		return "", time.Time{}, err
	}
	code, err := newPrefixedSecret(UIHandoverPrefix)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := tx.now.Add(ttl).Truncate(time.Second)
	if _, err := tx.tx.ExecContext(ctx, "DELETE FROM ui_handovers WHERE expires_at <= ?", tx.now.Unix()); err != nil {
		return "", time.Time{}, fmt.Errorf("prune ui hand-overs: %w", err)
	}
	_, err = tx.tx.ExecContext(ctx, "INSERT INTO ui_handovers (hash, user_id, token_id, expires_at) VALUES (?, ?, ?, ?)",
		HashToken(code), userID, tokenID, expires.Unix())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("create ui hand-over: %w", mapErr(err))
	}
	return code, expires, nil
}

// RedeemUIHandover spends a login code (single use) and mints the session:
// a child token of the code's token that lives ttl at most (and no longer
// than its parent). An unknown, spent or expired code, or one whose token
// or user is dead, is ErrNotFound. It returns the user, the session token
// and its secret, which is not kept.
func (tx *Tx) RedeemUIHandover(ctx context.Context, code string, ttl time.Duration) (User, Token, string, error) {
	var userID, expires int64
	var tokenID string
	err := tx.tx.QueryRowContext(ctx, "DELETE FROM ui_handovers WHERE hash = ? RETURNING user_id, token_id, expires_at",
		HashToken(code)).Scan(&userID, &tokenID, &expires)
	if err != nil {
		return User{}, Token{}, "", mapErr(err)
	}
	if tx.now.Unix() >= expires {
		return User{}, Token{}, "", ErrNotFound
	}
	u, err := tx.sessionUser(ctx, userID, tokenID)
	if err != nil {
		return User{}, Token{}, "", err
	}
	var disabled bool
	if err := tx.tx.QueryRowContext(ctx, "SELECT disabled_at IS NOT NULL FROM users WHERE id = ?", userID).Scan(&disabled); err != nil {
		return User{}, Token{}, "", mapErr(err)
	}
	if disabled {
		return User{}, Token{}, "", ErrNotFound
	}
	t, secret, err := tx.CreateChildToken(ctx, tokenID, UISessionTokenName, ttl)
	if err != nil {
		return User{}, Token{}, "", err
	}
	return u, t, secret, nil
}
