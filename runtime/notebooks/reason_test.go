package notebooks

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// TestARunningNotebooksReasonFollowsWhatTroublesItsPod: the reason comes
// from Explain while the notebook runs and clears when its pod is fine; a
// stopped notebook keeps its own reason.
func TestARunningNotebooksReasonFollowsWhatTroublesItsPod(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
			return err
		}
		for _, name := range []string{"nb", "off"} {
			if _, err := tx.CreateNotebook(ctx, store.Notebook{Tenant: "a", Name: name, Image: "ferry.local/workload:1", Workspace: "1Gi",
				Resources: store.Resources{CPU: "1", Memory: "2Gi"}, CreatedBy: "alice"}); err != nil {
				return err
			}
		}
		_, err := tx.SetNotebookState(ctx, "a", "off", store.NotebookStopped, "stopped by alice")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	why := `container "jupyter" used more than its memory limit of 2Gi and was killed (OOMKilled, exit code 137)`
	c := NewController(db, clusterWithNamespace(t, db, "a"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.Explain = func(string, string) string { return why }
	reason := func(name string) string {
		t.Helper()
		var n store.Notebook
		if err := db.Read(ctx, func(tx *store.Tx) (err error) { n, err = tx.Notebook(ctx, "a", name); return }); err != nil {
			t.Fatal(err)
		}
		return n.Reason
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := reason("nb"); got != why {
		t.Fatalf("running notebook's reason = %q", got)
	}
	if got := reason("off"); got != "stopped by alice" {
		t.Fatalf("stopped notebook's reason = %q", got)
	}
	why = ""
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := reason("nb"); got != "" {
		t.Fatalf("reason kept after the pod recovered: %q", got)
	}
}
