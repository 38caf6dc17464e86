package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestParseScopeReadsRunAndTenantScopesAndRefusesOthers(t *testing.T) {
	t.Parallel()
	for scope, want := range map[string][3]string{
		RunScope("ml", "abc"):       {"ml", "abc", "ok"},
		NotebookScope("ml", "lab"):  {"ml", "", "ok"},
		"":                          {"", "", ""},
		"run:ml":                    {"", "", ""},
		"run::abc":                  {"", "", ""},
		"tenant:ml":                 {"", "", ""},
		"tenant:ml:notebook:":       {"", "", ""},
		"tenant::notebook:lab":      {"", "", ""},
		"tenant:a:b:notebook:lab":   {"", "", ""},
		"admin:ml":                  {"", "", ""},
		"tenant:ml:deployment:lab":  {"", "", ""},
		"TENANT:ml:notebook:lab":    {"", "", ""},
		"tenant:ml:notebook:lab:x:": {"ml", "", "ok"}, // the notebook part is a name, not parsed further
	} {
		tenant, run, ok := ParseScope(scope)
		if !ok {
			tenant, run = "", ""
		}
		got := [3]string{tenant, run, map[bool]string{true: "ok"}[ok]}
		if got != want {
			t.Errorf("ParseScope(%q) = %v, want %v", scope, got, want)
		}
	}
}

// notebookTokenEnv is tenant "ml" with alice's running notebook "lab".
func notebookTokenEnv(t *testing.T, now func() time.Time) *DB {
	t.Helper()
	db := openTest(t, now)
	ctx := t.Context()
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "ml", DisplayName: "ml", Quota: Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
			return err
		}
		if _, err := tx.CreateUser(ctx, "alice", false); err != nil {
			return err
		}
		_, err := tx.CreateNotebook(ctx, Notebook{Tenant: "ml", Name: "lab", Image: "img", Workspace: "1Gi", Resources: Resources{CPU: "1", Memory: "1Gi"}, CreatedBy: "alice"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func nbToken(t *testing.T, db *DB) NotebookToken {
	t.Helper()
	var nt NotebookToken
	if err := db.Read(t.Context(), func(tx *Tx) (err error) { nt, err = tx.NotebookToken(t.Context(), "ml", "lab"); return err }); err != nil {
		t.Fatal(err)
	}
	return nt
}

func authenticates(t *testing.T, db *DB, secret string) bool {
	t.Helper()
	err := db.Read(t.Context(), func(tx *Tx) error { _, err := tx.Authenticate(t.Context(), secret); return err })
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func mintNB(t *testing.T, db *DB, ttl time.Duration) (Token, string) {
	t.Helper()
	var tk Token
	var secret string
	err := db.Write(t.Context(), func(tx *Tx) (err error) {
		tk, secret, err = tx.MintNotebookToken(t.Context(), "ml", "lab", ttl)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk, secret
}

func TestANotebooksTokenIsScopedReplacedAndRevokedWhenItStops(t *testing.T) {
	t.Parallel()
	var now = time.Now()
	db := notebookTokenEnv(t, func() time.Time { return now })
	ctx := t.Context()
	if nt := nbToken(t, db); nt.ID != "" || nt.Live || nt.Written {
		t.Fatalf("a new notebook has a token: %+v", nt)
	}
	first, s1 := mintNB(t, db, time.Hour)
	if first.Scope != NotebookScope("ml", "lab") || first.ExpiresAt == nil {
		t.Fatalf("minted %+v, want scope %q and an expiry", first, NotebookScope("ml", "lab"))
	}
	if nt := nbToken(t, db); nt.ID != first.ID || !nt.Live || nt.Written {
		t.Fatalf("after mint: %+v", nt)
	}
	if err := db.Write(ctx, func(tx *Tx) error { return tx.NotebookTokenWritten(ctx, "ml", "lab", first.ID) }); err != nil {
		t.Fatal(err)
	}
	if nt := nbToken(t, db); !nt.Written {
		t.Fatalf("written not recorded: %+v", nt)
	}
	// A replacement revokes the first and is unwritten again; a stale
	// "written" for the first token no longer counts.
	second, s2 := mintNB(t, db, time.Hour)
	if err := db.Write(ctx, func(tx *Tx) error { return tx.NotebookTokenWritten(ctx, "ml", "lab", first.ID) }); err != nil {
		t.Fatal(err)
	}
	if nt := nbToken(t, db); nt.ID != second.ID || nt.Written || !nt.Live {
		t.Fatalf("after a replacement: %+v", nt)
	}
	if authenticates(t, db, s1) || !authenticates(t, db, s2) {
		t.Fatal("the replaced token still works, or its replacement does not")
	}
	// Expired: not live (the controller replaces it).
	now = now.Add(2 * time.Hour)
	if nt := nbToken(t, db); nt.Live {
		t.Fatalf("an expired token reads as live: %+v", nt)
	}
	third, s3 := mintNB(t, db, time.Hour)
	// Stopping revokes it at once but keeps its id for the Secret's cleanup.
	if err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.SetNotebookState(ctx, "ml", "lab", NotebookStopped, "stopped by alice")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if nt := nbToken(t, db); nt.ID != third.ID || nt.Live || authenticates(t, db, s3) {
		t.Fatalf("a stopped notebook's token: %+v, authenticates %v", nt, authenticates(t, db, s3))
	}
	err := db.Write(ctx, func(tx *Tx) error { _, _, err := tx.MintNotebookToken(ctx, "ml", "lab", time.Hour); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("minting for a stopped notebook: %v, want ErrNotFound", err)
	}
	if err := db.Write(ctx, func(tx *Tx) error { return tx.EndNotebookToken(ctx, "ml", "lab") }); err != nil {
		t.Fatal(err)
	}
	if nt := nbToken(t, db); nt != (NotebookToken{}) {
		t.Fatalf("after its end: %+v", nt)
	}
}

func TestDeletingANotebookOrItsTenantRevokesItsToken(t *testing.T) {
	t.Parallel()
	for name, del := range map[string]func(context.Context, *Tx) error{
		"notebook": func(ctx context.Context, tx *Tx) error { return tx.DeleteNotebook(ctx, "ml", "lab") },
		"tenant":   func(ctx context.Context, tx *Tx) error { return tx.DeleteTenant(ctx, "ml") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := notebookTokenEnv(t, nil)
			_, secret := mintNB(t, db, 0)
			if !authenticates(t, db, secret) {
				t.Fatal("a fresh notebook token does not authenticate")
			}
			if err := db.Write(t.Context(), func(tx *Tx) error { return del(t.Context(), tx) }); err != nil {
				t.Fatal(err)
			}
			if authenticates(t, db, secret) {
				t.Errorf("deleting the %s left its notebook's token working", name)
			}
		})
	}
}
