package store

import (
	"errors"
	"testing"
	"time"
)

func TestNotebookHandoverIsSingleUseScopedAndSessionsDieWithTheirToken(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	db := openTest(t, func() time.Time { return now })
	var userID int64
	var tokenID, secret string
	if err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "a", DisplayName: "a", Quota: Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
			return err
		}
		for _, nb := range []string{"nb", "other"} {
			if _, err := tx.CreateNotebook(ctx, Notebook{Tenant: "a", Name: nb, Image: "i", Resources: Resources{CPU: "1", Memory: "1Gi"}, Workspace: "1Gi"}); err != nil {
				return err
			}
		}
		u, err := tx.CreateUser(ctx, "ada", false)
		if err != nil {
			return err
		}
		userID = u.ID
		tok, s, err := tx.CreateToken(ctx, u.ID, "t", 0)
		tokenID, secret = tok.ID, s
		return err
	}); err != nil {
		t.Fatal(err)
	}
	handover := func() string {
		t.Helper()
		var code string
		if err := db.Write(ctx, func(tx *Tx) (err error) {
			code, _, err = tx.CreateNotebookHandover(ctx, "a", "nb", userID, secret, time.Minute)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return code
	}
	redeem := func(code, nb string) (string, error) {
		var s string
		err := db.Write(ctx, func(tx *Tx) (err error) {
			_, s, err = tx.RedeemNotebookHandover(ctx, code, "a", nb, 12*time.Hour)
			return err
		})
		return s, err
	}
	check := func(s, nb string) error {
		return db.Read(ctx, func(tx *Tx) error {
			got, err := tx.NotebookSessionFor(ctx, s, "a", nb)
			if err == nil && got.User.Name != "ada" {
				t.Errorf("session user = %+v", got.User)
			}
			return err
		})
	}

	if err := db.Write(ctx, func(tx *Tx) error {
		_, _, err := tx.CreateNotebookHandover(ctx, "a", "nb", userID, "ferry_not-a-token", time.Minute)
		return err
	}); !errors.Is(err, ErrNotFound) {
		t.Errorf("hand-over for an unknown token: %v, want ErrNotFound", err)
	}
	code := handover()
	if _, err := redeem(code, "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("code redeemed for another notebook: %v", err)
	}
	sess, err := redeem(code, "nb")
	if err != nil {
		t.Fatal(err)
	}
	if sess == secret || sess == code {
		t.Fatal("the session secret is the token or the code")
	}
	if _, err := redeem(code, "nb"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second redemption: %v, want ErrNotFound", err)
	}
	if err := check(sess, "nb"); err != nil {
		t.Errorf("fresh session: %v", err)
	}
	if err := check(sess, "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session used for another notebook: %v", err)
	}

	late := handover()
	now = now.Add(61 * time.Second)
	if _, err := redeem(late, "nb"); !errors.Is(err, ErrNotFound) {
		t.Errorf("code redeemed after a minute: %v", err)
	}
	// Sliding expiry: use within 12 h keeps it alive.
	now = now.Add(11 * time.Hour)
	if err := db.Write(ctx, func(tx *Tx) error { return tx.RefreshNotebookSession(ctx, sess, 12*time.Hour) }); err != nil {
		t.Fatal(err)
	}
	now = now.Add(11 * time.Hour)
	if err := check(sess, "nb"); err != nil {
		t.Errorf("refreshed session: %v", err)
	}
	now = now.Add(13 * time.Hour)
	if err := check(sess, "nb"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session past its expiry: %v", err)
	}

	now = now.Add(-24 * time.Hour)
	if err := check(sess, "nb"); err != nil {
		t.Fatalf("session back in its lifetime: %v", err)
	}
	if err := db.Write(ctx, func(tx *Tx) error { return tx.RevokeToken(ctx, userID, tokenID) }); err != nil {
		t.Fatal(err)
	}
	if err := check(sess, "nb"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session after its token was revoked: %v", err)
	}
}
