package store

import (
	"errors"
	"testing"
	"time"
)

func TestUIHandoverIsSingleUseExpiresAndMintsABoundedChildToken(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	db := openTest(t, func() time.Time { return now })
	var user User
	var parent Token
	var secret string
	if err := db.Write(ctx, func(tx *Tx) (err error) {
		if user, err = tx.CreateUser(ctx, "ada", false); err != nil {
			return err
		}
		parent, secret, err = tx.CreateToken(ctx, user.ID, "cli", 2*time.Hour)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	handover := func() string {
		t.Helper()
		var code string
		if err := db.Write(ctx, func(tx *Tx) (err error) {
			code, _, err = tx.CreateUIHandover(ctx, user.ID, secret, time.Minute)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return code
	}
	redeem := func(code string) (Token, string, error) {
		var tok Token
		var s string
		err := db.Write(ctx, func(tx *Tx) (err error) {
			_, tok, s, err = tx.RedeemUIHandover(ctx, code, 8*time.Hour)
			return err
		})
		return tok, s, err
	}
	code := handover()
	if code[:4] != UIHandoverPrefix {
		t.Fatalf("code %q lacks the prefix %s", code, UIHandoverPrefix)
	}
	tok, s, err := redeem(code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ParentID != parent.ID || tok.Name != UISessionTokenName || !tok.ExpiresAt.Equal(*parent.ExpiresAt) {
		t.Fatalf("session token %+v: want a child of %s named %q expiring with its parent at %v", tok, parent.ID, UISessionTokenName, parent.ExpiresAt)
	}
	if err := db.Read(ctx, func(tx *Tx) error { _, err := tx.Authenticate(ctx, s); return err }); err != nil {
		t.Fatalf("the session secret does not authenticate: %v", err)
	}
	if _, _, err := redeem(code); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second use: %v, want ErrNotFound", err)
	}
	if _, _, err := redeem(UIHandoverPrefix + "unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown code: %v, want ErrNotFound", err)
	}
	late := handover()
	now = now.Add(time.Minute)
	if _, _, err := redeem(late); !errors.Is(err, ErrNotFound) {
		t.Fatalf("code redeemed at its expiry: %v, want ErrNotFound", err)
	}
	disabled := handover()
	if err := db.Write(ctx, func(tx *Tx) error { _, err := tx.SetUserDisabled(ctx, "ada", true); return err }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := redeem(disabled); !errors.Is(err, ErrNotFound) {
		t.Fatalf("code of a disabled user: %v, want ErrNotFound", err)
	}
	if err := db.Write(ctx, func(tx *Tx) error { _, err := tx.SetUserDisabled(ctx, "ada", false); return err }); err != nil {
		t.Fatal(err)
	}
	revoked := handover()
	if err := db.Write(ctx, func(tx *Tx) error { return tx.RevokeTokenID(ctx, parent.ID) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := redeem(revoked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("code whose token was revoked: %v, want ErrNotFound", err)
	}
	if err := db.Write(ctx, func(tx *Tx) error { _, _, err := tx.CreateUIHandover(ctx, user.ID, secret, time.Minute); return err }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a code for a revoked token: %v, want ErrNotFound", err)
	}
}
