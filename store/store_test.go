package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func openTest(t *testing.T, now func() time.Time) *DB {
	t.Helper()
	db, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "ferry.db"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestMigrationsAreRecordedAndReopenIsIdempotent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ferry.db")
	for i := 0; i < 2; i++ {
		db, err := Open(t.Context(), Config{Path: path})
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		got, err := db.Migrations(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 5 || got[0] != "0001_init.sql" || got[1] != "0002_audit_tenant_actor.sql" || got[2] != "0003_jobs.sql" || got[3] != "0004_notebooks.sql" ||
			got[4] != "0005_token_parent_user_disabled.sql" {
			t.Fatalf("open #%d: migrations = %v", i, got)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPragmasAreInForceOnWriterAndReaders(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	for name, conn := range map[string]*sql.DB{"writer": db.write, "reader": db.read} {
		var mode string
		var fk, busy int
		if err := conn.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || busy != 5000 {
			t.Errorf("%s: journal_mode=%s foreign_keys=%d busy_timeout=%d", name, mode, fk, busy)
		}
	}
	if _, err := db.read.Exec("CREATE TABLE x (a)"); err == nil {
		t.Error("reader pool accepted a write; it must be query-only")
	}
}

func TestFailedWriteLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	boom := errors.New("boom")
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "a", DisplayName: "A", Quota: Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, AuditEntry{Actor: "x", Action: "createTenant", Result: "ok"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		if _, err := tx.Tenant(ctx, "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("tenant survived a rolled-back transaction: %v", err)
		}
		rows, _ := tx.ListAudit(ctx, AuditFilter{Limit: 10})
		if len(rows) != 0 {
			t.Errorf("audit rows survived a rolled-back transaction: %d", len(rows))
		}
		return nil
	})
}

func TestTenantCRUDAndConflicts(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "a", DisplayName: "A", Quota: Quota{CPU: "1", Memory: "1Gi", GPU: 1}}); err != nil {
			return err
		}
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "a", DisplayName: "again"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate tenant: err = %v, want ErrConflict", err)
		}
		u, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		if err := tx.PutMember(ctx, "a", u.ID, RoleEditor); err != nil {
			return err
		}
		if err := tx.PutMember(ctx, "a", u.ID, RoleOwner); err != nil {
			return err
		}
		if r, err := tx.Role(ctx, u.ID, "a"); err != nil || r != RoleOwner {
			t.Errorf("role = %q, %v; want owner", r, err)
		}
		if err := tx.PutMember(ctx, "missing", u.ID, RoleViewer); err == nil {
			t.Error("membership in a missing tenant was accepted; foreign keys are off?")
		}
		got, err := tx.UpdateTenant(ctx, Tenant{Name: "a", DisplayName: "A2", Quota: Quota{CPU: "2", Memory: "2Gi", GPU: 0}})
		if err != nil {
			return err
		}
		if got.Generation != 2 || got.DisplayName != "A2" || got.Quota.CPU != "2" {
			t.Errorf("updated tenant = %+v", got)
		}
		if err := tx.DeleteTenant(ctx, "a"); err != nil {
			return err
		}
		if _, err := tx.Role(ctx, u.ID, "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("membership outlived its tenant: %v", err)
		}
		return tx.DeleteTenant(ctx, "a")
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: err = %v, want ErrNotFound", err)
	}
}

func TestListTenantsKeysetPagesAndMembershipFilter(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	var alice User
	err := db.Write(ctx, func(tx *Tx) error {
		var err error
		if alice, err = tx.CreateUser(ctx, "alice", false); err != nil {
			return err
		}
		for _, n := range []string{"e", "a", "d", "b", "c"} {
			if _, err := tx.CreateTenant(ctx, Tenant{Name: n, DisplayName: n, Quota: Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
				return err
			}
		}
		return errors.Join(tx.PutMember(ctx, "b", alice.ID, RoleViewer), tx.PutMember(ctx, "d", alice.ID, RoleViewer))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		var names []string
		after := ""
		for {
			page, err := tx.ListTenants(ctx, 0, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				names = append(names, p.Name)
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].Name
		}
		if got := join(names); got != "a,b,c,d,e" {
			t.Errorf("all pages = %s", got)
		}
		mine, _ := tx.ListTenants(ctx, alice.ID, "", 10)
		if len(mine) != 2 || mine[0].Name != "b" || mine[1].Name != "d" {
			t.Errorf("alice's tenants = %+v", mine)
		}
		return nil
	})
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func TestTokensAuthenticateRevokeAndExpire(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := openTest(t, func() time.Time { return now })
	ctx := t.Context()
	var forever, short, other string
	var foreverID string
	var aliceID int64
	err := db.Write(ctx, func(tx *Tx) error {
		a, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		b, err := tx.CreateUser(ctx, "bob", false)
		if err != nil {
			return err
		}
		aliceID = a.ID
		var tok Token
		if tok, forever, err = tx.CreateToken(ctx, a.ID, "laptop", 0); err != nil {
			return err
		}
		foreverID = tok.ID
		if _, short, err = tx.CreateToken(ctx, a.ID, "ci", time.Hour); err != nil {
			return err
		}
		_, other, err = tx.CreateToken(ctx, b.ID, "bob", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(secret string) error {
		return db.Read(ctx, func(tx *Tx) error { _, err := tx.Authenticate(ctx, secret); return err })
	}
	for _, s := range []string{forever, short, other} {
		if err := auth(s); err != nil {
			t.Errorf("fresh token refused: %v", err)
		}
	}
	if err := auth(forever + "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("altered token: %v", err)
	}
	var raw string
	_ = db.read.QueryRow("SELECT group_concat(hash) FROM tokens").Scan(&raw)
	if len(raw) == 0 || contains(raw, forever) {
		t.Error("token secret stored in clear")
	}
	now = now.Add(2 * time.Hour)
	if err := auth(short); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired token accepted: %v", err)
	}
	err = db.Write(ctx, func(tx *Tx) error { return tx.RevokeToken(ctx, aliceID+1, foreverID) })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("bob revoked alice's token: %v", err)
	}
	if err := db.Write(ctx, func(tx *Tx) error { return tx.RevokeToken(ctx, aliceID, foreverID) }); err != nil {
		t.Fatal(err)
	}
	if err := auth(forever); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token accepted: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func appendN(t *testing.T, db *DB, n int, tenant string) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *Tx) error {
		for i := 0; i < n; i++ {
			if _, err := tx.AppendAudit(ctx, AuditEntry{Actor: "alice", Action: "createTenant", Tenant: tenant, Target: "tenant/x", Result: "ok"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuditChainDetectsTamperedRow(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	appendN(t, db, 10, "a")
	verify := func() int64 {
		var broken int64
		if err := db.Read(ctx, func(tx *Tx) error { var err error; broken, err = tx.VerifyAudit(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		return broken
	}
	if b := verify(); b != 0 {
		t.Fatalf("fresh chain broken at %d", b)
	}
	if _, err := db.write.Exec("UPDATE audit SET result = 'denied' WHERE id = 4"); err == nil {
		t.Fatal("the append-only trigger let an UPDATE through")
	}
	// An attacker with the file drops the trigger and edits a row.
	if _, err := db.write.Exec("DROP TRIGGER audit_no_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec("UPDATE audit SET actor = 'mallory' WHERE id = 4"); err != nil {
		t.Fatal(err)
	}
	if b := verify(); b != 4 {
		t.Fatalf("tampered row 4: verify says %d", b)
	}
}

func TestAuditChainDetectsDeletedRow(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	appendN(t, db, 5, "a")
	if _, err := db.write.Exec("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	var broken int64
	_ = db.Read(t.Context(), func(tx *Tx) error { broken, _ = tx.VerifyAudit(t.Context()); return nil })
	if broken != 3 {
		t.Fatalf("deleted row 2: verify says %d, want 3", broken)
	}
}

func TestAuditListFiltersAndPages(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	appendN(t, db, 7, "a")
	appendN(t, db, 3, "b")
	var seen []int64
	after := int64(0)
	for {
		var page []AuditEntry
		_ = db.Read(ctx, func(tx *Tx) error {
			var err error
			page, err = tx.ListAudit(ctx, AuditFilter{Tenant: "a", After: after, Limit: 3})
			return err
		})
		for _, e := range page {
			if e.Tenant != "a" {
				t.Fatalf("filter leaked tenant %q", e.Tenant)
			}
			seen = append(seen, e.ID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(seen) != 7 || seen[0] != 7 || seen[6] != 1 {
		t.Fatalf("pages = %v, want ids 7..1", seen)
	}
}

func TestBackupRestoresEveryRow(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	appendN(t, db, 50, "a")
	_ = db.Write(ctx, func(tx *Tx) error {
		_, err := tx.CreateTenant(ctx, Tenant{Name: "a", DisplayName: "A", Quota: Quota{CPU: "1", Memory: "1Gi"}})
		return err
	})
	to := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, to); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, to); err == nil {
		t.Error("backup overwrote an existing file")
	}
	restored, err := Open(ctx, Config{Path: to})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	_ = restored.Read(ctx, func(tx *Tx) error {
		rows, _ := tx.ListAudit(ctx, AuditFilter{Limit: 100})
		if len(rows) != 50 {
			t.Errorf("restored audit rows = %d, want 50", len(rows))
		}
		if b, _ := tx.VerifyAudit(ctx); b != 0 {
			t.Errorf("restored chain broken at %d", b)
		}
		if _, err := tx.Tenant(ctx, "a"); err != nil {
			t.Errorf("restored tenant: %v", err)
		}
		return nil
	})
}
