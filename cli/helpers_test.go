package cli

import (
	"database/sql"
	"testing"

	_ "modernc.org/sqlite"
)

func tamperDB(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
}
