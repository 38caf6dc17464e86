package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDatabaseFileAndItsDirectoryAreOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "ferry.db")
	db, err := Open(t.Context(), Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write(t.Context(), func(tx *Tx) error { _, err := tx.CreateUser(t.Context(), "alice", false); return err }); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", filepath.Base(p), got, want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A database left readable by an older version is tightened on open.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(t.Context(), Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("reopened database: mode %o, want 600", fi.Mode().Perm())
	}
}

func TestChildTokenExpiresNoLaterThanItsParent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := openTest(t, func() time.Time { return now })
	ctx := t.Context()
	var parent, forever Token
	var kids []Token
	err := db.Write(ctx, func(tx *Tx) error {
		u, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		if parent, _, err = tx.CreateToken(ctx, u.ID, "ci", time.Hour); err != nil {
			return err
		}
		if forever, _, err = tx.CreateToken(ctx, u.ID, "laptop", 0); err != nil {
			return err
		}
		for _, ttl := range []time.Duration{0, 24 * time.Hour, time.Minute} {
			k, _, err := tx.CreateChildToken(ctx, parent.ID, "child", ttl)
			if err != nil {
				return err
			}
			kids = append(kids, k)
		}
		k, _, err := tx.CreateChildToken(ctx, forever.ID, "of-forever", 0)
		kids = append(kids, k)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []*time.Time{parent.ExpiresAt, parent.ExpiresAt, new(now.Add(time.Minute)), nil}
	for i, k := range kids {
		switch {
		case want[i] == nil && k.ExpiresAt != nil, want[i] != nil && (k.ExpiresAt == nil || !k.ExpiresAt.Equal(*want[i])):
			t.Errorf("child %d expires %v, want %v", i, k.ExpiresAt, want[i])
		}
		if k.UserID == 0 || k.ParentID == "" {
			t.Errorf("child %d: owner %d parent %q", i, k.UserID, k.ParentID)
		}
	}
}

func TestDisabledUsersTokensStopAndComeBackWhenEnabled(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	var secret string
	err := db.Write(ctx, func(tx *Tx) error {
		u, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		_, secret, err = tx.CreateToken(ctx, u.ID, "laptop", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := func() error {
		return db.Read(ctx, func(tx *Tx) error { _, _, err := tx.AuthenticateToken(ctx, secret); return err })
	}
	setDisabled := func(d bool) User {
		var u User
		if err := db.Write(ctx, func(tx *Tx) (err error) { u, err = tx.SetUserDisabled(ctx, "alice", d); return err }); err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := setDisabled(true); !u.Disabled {
		t.Errorf("disabled user reads back %+v", u)
	}
	if err := auth(); !errors.Is(err, ErrNotFound) {
		t.Errorf("a disabled user's token authenticates: %v", err)
	}
	if u := setDisabled(false); u.Disabled {
		t.Errorf("enabled user reads back %+v", u)
	}
	if err := auth(); err != nil {
		t.Errorf("re-enabled user's token: %v", err)
	}
	err = db.Write(ctx, func(tx *Tx) error { _, err := tx.SetUserDisabled(ctx, "nobody", true); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("disabling a missing user: %v", err)
	}
}

func TestAuditFieldsAreCutToTheirMaximumAndTheChainHolds(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	long := strings.Repeat("é", 10_000)
	err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.AppendAudit(ctx, AuditEntry{Actor: long, Action: long, Tenant: long, Target: long, Result: long, Detail: long})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows []AuditEntry
	var broken int64
	err = db.Read(ctx, func(tx *Tx) (err error) {
		if rows, err = tx.ListAudit(ctx, AuditFilter{Limit: 10}); err != nil {
			return err
		}
		broken, err = tx.VerifyAudit(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e := rows[0]
	for name, f := range map[string]struct {
		v   string
		max int
	}{"actor": {e.Actor, MaxAuditActor}, "action": {e.Action, MaxAuditAction}, "tenant": {e.Tenant, MaxAuditTenant},
		"target": {e.Target, MaxAuditTarget}, "result": {e.Result, MaxAuditResult}, "detail": {e.Detail, MaxAuditDetail}} {
		if len(f.v) == 0 || len(f.v) > f.max || !strings.HasPrefix(long, f.v) {
			t.Errorf("%s: %d bytes stored, want 1..%d of the value, cut on a rune", name, len(f.v), f.max)
		}
	}
	if broken != 0 {
		t.Errorf("chain broken at %d after cut fields", broken)
	}
}
