package auditanchor

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob/fileblob"
	_ "modernc.org/sqlite"

	"github.com/ferry-ml/ferry/store"
)

func setup(t *testing.T) (*store.DB, *Anchor, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ferry.db")
	db, err := store.Open(t.Context(), store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := fileblob.OpenBucket(t.TempDir(), &fileblob.Options{NoTempDir: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	key, err := LoadOrCreateKey(filepath.Join(dir, "k", "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{DB: db, Bucket: b, Key: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return db, a, path
}

func appendRows(t *testing.T, db *store.DB, n int) {
	t.Helper()
	ctx := t.Context()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		for range n {
			if _, err := tx.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Action: "x", Result: "ok"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func check(t *testing.T, db *store.DB, a *Anchor) []string {
	t.Helper()
	var out []string
	if err := db.Read(t.Context(), func(tx *store.Tx) (err error) {
		out, err = a.CheckAudit(t.Context(), tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheckpointCatchesACutTailAndARecomputedChain(t *testing.T) {
	t.Parallel()
	db, a, path := setup(t)
	appendRows(t, db, 10)
	if err := a.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	appendRows(t, db, 2) // rows after the checkpoint are fine
	if p := check(t, db, a); len(p) != 0 {
		t.Fatalf("intact chain: %v", p)
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id > 7"); err != nil {
		t.Fatal(err)
	}
	p := check(t, db, a)
	if len(p) != 1 || !strings.Contains(p[0], "rows 8-10 after checkpoint") || !strings.Contains(p[0], "missing") {
		t.Errorf("cut tail: %v", p)
	}
	// Rows re-added with a recomputed chain (same ids, new content) still differ at the checkpoint.
	appendRows(t, db, 3)
	p = check(t, db, a)
	if len(p) != 1 || !strings.Contains(p[0], "row 10 or an earlier one was altered") {
		t.Errorf("recomputed chain: %v", p)
	}
}

func TestACheckpointSignedWithAnotherKeyIsRefused(t *testing.T) {
	t.Parallel()
	db, a, _ := setup(t)
	appendRows(t, db, 3)
	other, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	forger, err := New(Config{DB: db, Bucket: a.cfg.Bucket, Key: other, Logger: a.cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := forger.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := check(t, db, a); len(p) != 1 || !strings.Contains(p[0], "checkpoint signature invalid") {
		t.Errorf("forged checkpoint: %v", p)
	}
}

func TestKeyIsCreatedOwnerOnlyAndReadBack(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("key read back: %v", err)
	}
}
