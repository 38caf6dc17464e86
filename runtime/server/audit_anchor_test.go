package server

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/runtime/auditanchor"
)

func TestAuditVerifyReportsRowsCutOffAfterTheShutdownCheckpoint(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.twoTenants()
	n := e.auditCount()
	if err := e.stop(); err != nil { // the clean shutdown writes a checkpoint
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(filepath.Dir(e.dir), AuditKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit key beside the data dir: %v %v", fi, err)
	}
	// Cut the last three rows: the chain that is left is intact on its own.
	tamper(t, filepath.Join(e.dir, DBFile), "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id > (SELECT max(id) - 3 FROM audit)")
	e2 := restart(t, e.dir)
	v := e2.must(200, "GET", "/api/v1/audit/verify", e2.admin, nil)
	if v.body["ok"] != false || !strings.Contains(v.raw, "missing") {
		t.Fatalf("verify after cutting the tail of %d rows = %s", n, v.raw)
	}
	// The restart put the dropped trigger back.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM audit WHERE id = 1"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete after the restart: %v, want the append-only trigger", err)
	}
}

func TestAuditVerifyRefusesAForgedCheckpoint(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.twoTenants()
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	// Someone with the bucket (but not the key) claims a shorter head.
	dir := filepath.Join(e.dir, "blobs", filepath.FromSlash(auditanchor.Prefix))
	b, _ := json.Marshal(auditanchor.Checkpoint{HeadID: 99999, HeadHash: strings.Repeat("ab", 32), Signature: "Zm9yZ2Vk"})
	if err := os.WriteFile(filepath.Join(dir, "00000000000000099999.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	e2 := restart(t, e.dir)
	v := e2.must(200, "GET", "/api/v1/audit/verify", e2.admin, nil)
	if v.body["ok"] != false || !strings.Contains(v.raw, "checkpoint signature invalid") {
		t.Fatalf("verify with a forged checkpoint = %s", v.raw)
	}
}
