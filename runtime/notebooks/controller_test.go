package notebooks

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/store"
)

// appliedByFerry says whether o's fields are owned by ferry's server-side apply.
func appliedByFerry(o metav1.Object) bool {
	for _, m := range o.GetManagedFields() {
		if m.Manager == controller.FieldManager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// TestControllerCreatesCullsAndRestartsNotebooks: a notebook gets its
// StatefulSet (1 replica) and Service; with no use for longer than the
// tenant's setting it is stopped (0 replicas, the claim template kept);
// an open connection counts as use; Start brings it back; Delete removes
// everything.
func TestControllerCreatesCullsAndRestartsNotebooks(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	now := time.Now()
	open := false
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "4", Memory: "8Gi"}, NotebookIdleSeconds: 60}); err != nil {
			return err
		}
		_, err := tx.CreateNotebook(ctx, store.Notebook{Tenant: "a", Name: "nb", Image: "ferry.local/workload:1", Workspace: "2Gi",
			Resources: store.Resources{CPU: "1", Memory: "2Gi"}, CreatedBy: "alice"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cs := clusterWithNamespace(t, db, "a")
	c := NewController(db, cs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.Now = clock
	c.Activity = func(string, string) (time.Time, bool) { mu.Lock(); defer mu.Unlock(); return time.Time{}, open }
	replicas := func() int32 {
		t.Helper()
		sts, err := cs.AppsV1().StatefulSets("ferry-a").Get(ctx, "nb-nb", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *sts.Spec.Replicas
	}
	state := func() store.Notebook {
		var n store.Notebook
		if err := db.Read(ctx, func(tx *store.Tx) (err error) { n, err = tx.Notebook(ctx, "a", "nb"); return }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if replicas() != 1 {
		t.Fatal("a new notebook does not run")
	}
	svc, err := cs.CoreV1().Services("ferry-a").Get(ctx, "nb-nb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sts, err := cs.AppsV1().StatefulSets("ferry-a").Get(ctx, "nb-nb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []metav1.Object{svc, sts} {
		if !appliedByFerry(o) {
			t.Errorf("%s not server-side applied by ferry: %+v", o.GetName(), o.GetManagedFields())
		}
	}
	// Drift: a hand-scaled StatefulSet is scaled back by the next sync.
	sts.Spec.Replicas = new(int32(3))
	if _, err := cs.AppsV1().StatefulSets("ferry-a").Update(ctx, sts, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if replicas() != 1 {
		t.Fatalf("a hand-scaled notebook has %d replicas after a sync, want 1", replicas())
	}
	u, ready, ok, err := c.Target(ctx, "a", "nb")
	if err != nil || !ok || ready || u.String() != "http://nb-nb.ferry-a.svc.cluster.local.:8888" {
		t.Fatalf("target of a notebook not yet ready: %v %v %v %v", u, ready, ok, err)
	}

	// 2 minutes later, with a kernel's WebSocket open: still in use.
	mu.Lock()
	now, open = now.Add(2*time.Minute), true
	mu.Unlock()
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if replicas() != 1 || state().State != store.NotebookRunning {
		t.Fatal("a notebook with an open connection was culled")
	}
	// Closed, and idle past the tenant's 60 s: stopped, the workspace kept.
	mu.Lock()
	now, open = now.Add(61*time.Second), false
	mu.Unlock()
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := state(); n.State != store.NotebookStopped || !strings.Contains(n.Reason, "without use") || replicas() != 0 {
		t.Fatalf("idle notebook: %+v, replicas %d", n, replicas())
	}
	if _, ready, ok, _ := c.Target(ctx, "a", "nb"); !ok || ready {
		t.Error("a stopped notebook reads as ready")
	}
	if _, err := c.Start(ctx, "a", "nb", nil); err != nil {
		t.Fatal(err)
	}
	if state().State != store.NotebookRunning || replicas() != 1 {
		t.Fatal("start did not bring the notebook back")
	}
	if err := c.Sync(ctx); err != nil || state().State != store.NotebookRunning {
		t.Fatalf("a just-started notebook was culled again: %v %+v", err, state())
	}
	if err := c.Delete(ctx, "a", "nb", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().StatefulSets("ferry-a").Get(ctx, "nb-nb", metav1.GetOptions{}); err == nil {
		t.Error("the StatefulSet outlived its notebook")
	}
	if _, _, ok, _ := c.Target(ctx, "a", "nb"); ok {
		t.Error("a deleted notebook is still a target")
	}
}
