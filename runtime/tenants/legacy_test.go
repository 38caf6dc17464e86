package tenants

import (
	"database/sql"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/store"
)

// legacyStore is a store with tenant x, marked as migration 0031 marks the
// tenants that existed before it when unlabelled is set.
func legacyStore(t *testing.T, unlabelled bool) (*store.DB, store.Tenant) {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := store.Open(ctx, store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.CreateTenant(ctx, tenantX()); return err }); err != nil {
		t.Fatal(err)
	}
	if unlabelled {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.ExecContext(ctx, "UPDATE tenants SET unlabelled_namespace = 1 WHERE name = 'x'"); err != nil {
			t.Fatal(err)
		}
	}
	return db, readTenant(t, db)
}

func readTenant(t *testing.T, db *store.DB) store.Tenant {
	t.Helper()
	var tn store.Tenant
	if err := db.Read(t.Context(), func(tx *store.Tx) (err error) { tn, err = tx.Tenant(t.Context(), "x"); return }); err != nil {
		t.Fatal(err)
	}
	return tn
}

// oldFerrysNamespace is ferry-x as ferry applied it before the owner label:
// server-side apply by field manager "ferry", created at created.
func oldFerrysNamespace(t *testing.T, cs *fake.Clientset, created time.Time) {
	t.Helper()
	ns := &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: "ferry-x",
		CreationTimestamp: metav1.NewTime(created),
		Labels:            map[string]string{ManagedByLabel: ManagedBy, TenantLabel: "x", "pod-security.kubernetes.io/enforce": "baseline"}}}
	if _, err := controller.Apply(t.Context(), cs.CoreV1().Namespaces(), ns); err != nil {
		t.Fatal(err)
	}
}

// TestReconcileRelabelsOnlyANamespaceProvablyMadeByAnOlderFerryForTheTenant:
// a tenant from before the owner label (flagged by migration 0031) whose
// namespace ferry applied after the tenant was created gets the label, its
// objects, and loses the flag (so a later unlabelled namespace is a
// conflict again); a namespace older than the tenant, one labelled by
// another field manager, or any namespace of a tenant made since is a
// conflict, left unlabelled and empty, and the conflict says how to label it.
func TestReconcileRelabelsOnlyANamespaceProvablyMadeByAnOlderFerryForTheTenant(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	db, tn := legacyStore(t, true)
	if !tn.UnlabelledNamespace {
		t.Fatal("the test store's tenant is not flagged")
	}
	cs := fake.NewClientset()
	oldFerrysNamespace(t, cs, tn.CreatedAt.Add(300*time.Millisecond))
	r := &Reconciler{Store: db, Client: cs}
	if err := r.Reconcile(ctx, "x"); err != nil {
		t.Fatalf("Reconcile of an older ferry's namespace = %v, want it relabelled", err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "ferry-x", metav1.GetOptions{})
	if err != nil || ns.Labels[TenantIDLabel] != OwnerID(tn) {
		t.Fatalf("relabelled namespace: %v %v", err, ns.Labels)
	}
	if got := quotaGPU(t, r, "ferry-x"); got != "0" {
		t.Errorf("quota in the relabelled namespace: %s", got)
	}
	if readTenant(t, db).UnlabelledNamespace {
		t.Error("the tenant is still flagged after its namespace got the label")
	}
	if err := CheckNamespace(ctx, cs, readTenant(t, db)); err != nil {
		t.Errorf("CheckNamespace after the relabel = %v", err)
	}
	// Relabelled once: the label removed again is a conflict now.
	delete(ns.Labels, TenantIDLabel)
	if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Reconcile(ctx, "x"); !errors.Is(err, ErrNamespaceConflict) {
		t.Errorf("Reconcile after the label was removed again = %v, want a conflict", err)
	}

	for name, c := range map[string]struct {
		flagged bool
		make    func(*fake.Clientset, store.Tenant)
		why     string
	}{
		"made before the tenant": {flagged: true, why: "created before the tenant", make: func(cs *fake.Clientset, tn store.Tenant) {
			oldFerrysNamespace(t, cs, tn.CreatedAt.Add(-time.Hour))
		}},
		"labelled by another manager": {flagged: true, why: "set by kubectl-create", make: func(cs *fake.Clientset, tn store.Tenant) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ferry-x", CreationTimestamp: metav1.NewTime(tn.CreatedAt.Add(time.Second)),
				Labels: map[string]string{ManagedByLabel: ManagedBy, TenantLabel: "x"}}}
			if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
				t.Fatal(err)
			}
		}},
		"not ferry's labels": {flagged: true, why: "labels do not say", make: func(cs *fake.Clientset, tn store.Tenant) {
			ns := &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: "ferry-x",
				CreationTimestamp: metav1.NewTime(tn.CreatedAt.Add(time.Second)), Labels: map[string]string{TenantLabel: "y"}}}
			if _, err := controller.Apply(ctx, cs.CoreV1().Namespaces(), ns); err != nil {
				t.Fatal(err)
			}
		}},
		"a tenant made after the label": {flagged: false, why: "made after the label existed", make: func(cs *fake.Clientset, tn store.Tenant) {
			oldFerrysNamespace(t, cs, tn.CreatedAt.Add(time.Second))
		}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, tn := legacyStore(t, c.flagged)
			cs := fake.NewClientset()
			c.make(cs, tn)
			before, err := cs.CoreV1().Namespaces().Get(ctx, "ferry-x", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := &Reconciler{Store: db, Client: cs}
			err = r.Reconcile(ctx, "x")
			var conflict *ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("Reconcile = %v, want a conflict", err)
			}
			if !strings.Contains(conflict.Reason, c.why) || !strings.Contains(conflict.Reason, TenantIDLabel+"="+OwnerID(tn)) {
				t.Errorf("conflict reason %q: want why (%q) and the label to set", conflict.Reason, c.why)
			}
			assertUntouched(t, r, "ferry-x", maps.Clone(before.Labels))
			if readTenant(t, db).UnlabelledNamespace != c.flagged {
				t.Error("the tenant's flag changed though nothing was relabelled")
			}
		})
	}
}
