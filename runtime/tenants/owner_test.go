package tenants

import (
	"errors"
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ferry-ml/ferry/store"
)

func TestOwnerIDTellsARecreatedTenantFromTheDeletedOne(t *testing.T) {
	t.Parallel()
	a := store.Tenant{Name: "x", CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC)}
	b := a
	b.CreatedAt = b.CreatedAt.Add(time.Nanosecond)
	again := a
	again.CreatedAt = again.CreatedAt.In(time.FixedZone("elsewhere", 3600)) // read back in another zone
	if OwnerID(a) != OwnerID(again) || OwnerID(a) == OwnerID(b) {
		t.Errorf("OwnerID %s (read again %s), recreated %s: want stable and different", OwnerID(a), OwnerID(again), OwnerID(b))
	}
	if other := (store.Tenant{Name: "y", CreatedAt: a.CreatedAt}); OwnerID(other) == OwnerID(a) {
		t.Error("two tenants created at once share an OwnerID")
	}
}

func tenantX() store.Tenant {
	return store.Tenant{Name: "x", DisplayName: "X", Quota: store.Quota{CPU: "1", Memory: "1Gi"}}
}

// assertUntouched fails unless namespace ns still exists with exactly the
// labels it had and holds no object of ferry's.
func assertUntouched(t *testing.T, r *Reconciler, ns string, labels map[string]string) {
	t.Helper()
	ctx := t.Context()
	got, err := r.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace %s: %v", ns, err)
	}
	if !maps.Equal(got.Labels, labels) {
		t.Errorf("namespace %s labels = %v, want them left as %v", ns, got.Labels, labels)
	}
	if q, _ := r.Client.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{}); len(q.Items) > 0 {
		t.Errorf("ferry wrote a quota into namespace %s", ns)
	}
	if np, _ := r.Client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{}); len(np.Items) > 0 {
		t.Errorf("ferry wrote network policies into namespace %s", ns)
	}
}

// TestReconcileNeverAdoptsANamespaceItDidNotCreateForTheTenant: a
// namespace already named like the tenant's, without the owner label (even
// one that looks like ferry's) or with another tenant's id (a deleted one
// of the same name), is a conflict on the tenant: not labelled, not written
// into. Once the tenant is gone, one without the owner label is still left
// alone; one ferry created for a tenant of that name (both deleted now) is
// cleaned up.
func TestReconcileNeverAdoptsANamespaceItDidNotCreateForTheTenant(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		labels    map[string]string
		ferrysOwn bool
	}{
		"someone else's":       {labels: map[string]string{"owner": "someone"}},
		"ferry-looking, no id": {labels: map[string]string{ManagedByLabel: ManagedBy, TenantLabel: "x"}},
		"no labels whatsoever": {},
		"another tenant's id": {labels: map[string]string{ManagedByLabel: ManagedBy, TenantLabel: "x", TenantIDLabel: "0123456789abcdef0123"},
			ferrysOwn: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace("x"), Labels: maps.Clone(c.labels)}}
			db := newStore(t, tenantX())
			r := &Reconciler{Store: db, Client: fake.NewClientset(ns)}
			err := r.Reconcile(ctx, "x")
			var conflict *ConflictError
			if !errors.Is(err, ErrNamespaceConflict) || !errors.As(err, &conflict) || conflict.Namespace != "ferry-x" {
				t.Fatalf("Reconcile = %v, want a namespace conflict", err)
			}
			if !errors.Is(r.Conflict("x"), ErrNamespaceConflict) {
				t.Errorf("Conflict(x) = %v, want the conflict recorded on the tenant", r.Conflict("x"))
			}
			assertUntouched(t, r, "ferry-x", c.labels)
			if err := r.Reconcile(ctx, "x"); !errors.Is(err, ErrNamespaceConflict) {
				t.Fatalf("second Reconcile = %v, want the conflict again", err)
			}
			assertUntouched(t, r, "ferry-x", c.labels)
			if err := db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteTenant(ctx, "x") }); err != nil {
				t.Fatal(err)
			}
			if err := r.Reconcile(ctx, "x"); err != nil {
				t.Fatal(err)
			}
			if r.Conflict("x") != nil {
				t.Errorf("a deleted tenant keeps its conflict: %v", r.Conflict("x"))
			}
			_, err = r.Client.CoreV1().Namespaces().Get(ctx, "ferry-x", metav1.GetOptions{})
			switch {
			case c.ferrysOwn && !apierrors.IsNotFound(err):
				t.Errorf("ferry's namespace of a deleted tenant x was kept: %v", err)
			case !c.ferrysOwn:
				assertUntouched(t, r, "ferry-x", c.labels)
			}
		})
	}
}

// TestReconcileNeverTouchesTheControlPlaneNamespace: a tenant named
// "system" would own ferry-system; whatever its labels say (here even the
// owner label of that very tenant), it is not written into, and not
// deleted with the tenant.
func TestReconcileNeverTouchesTheControlPlaneNamespace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newStore(t, store.Tenant{Name: "system", DisplayName: "S", Quota: store.Quota{CPU: "1", Memory: "1Gi"}})
	var tn store.Tenant
	if err := db.Read(ctx, func(tx *store.Tx) (err error) { tn, err = tx.Tenant(ctx, "system"); return }); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{ManagedByLabel: ManagedBy, TenantLabel: "system", TenantIDLabel: OwnerID(tn)}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ControlPlaneNamespace, Labels: maps.Clone(labels)}}
	r := &Reconciler{Store: db, Client: fake.NewClientset(ns)}
	if err := r.Reconcile(ctx, "system"); !errors.Is(err, ErrNamespaceConflict) {
		t.Fatalf("Reconcile = %v, want a namespace conflict", err)
	}
	assertUntouched(t, r, ControlPlaneNamespace, labels)
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteTenant(ctx, "system") }); err != nil {
		t.Fatal(err)
	}
	if err := r.Reconcile(ctx, "system"); err != nil {
		t.Fatal(err)
	}
	assertUntouched(t, r, ControlPlaneNamespace, labels)
}

// TestReconcileAdoptsTheNamespaceOnceTheOneInTheWayIsGone: the namespace ferry creates
// carries the tenant's owner label, and a conflict clears once the
// namespace in the way is gone.
func TestReconcileAdoptsTheNamespaceOnceTheOneInTheWayIsGone(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := &Reconciler{Store: newStore(t, tenantX()), Client: fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ferry-x"}})}
	if err := r.Reconcile(ctx, "x"); !errors.Is(err, ErrNamespaceConflict) {
		t.Fatalf("Reconcile = %v, want a namespace conflict", err)
	}
	if err := r.Client.CoreV1().Namespaces().Delete(ctx, "ferry-x", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Reconcile(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if r.Conflict("x") != nil {
		t.Errorf("conflict kept after a clean reconcile: %v", r.Conflict("x"))
	}
	var tn store.Tenant
	_ = r.Store.Read(ctx, func(tx *store.Tx) (err error) { tn, err = tx.Tenant(ctx, "x"); return })
	ns, err := r.Client.CoreV1().Namespaces().Get(ctx, "ferry-x", metav1.GetOptions{})
	if err != nil || ns.Labels[TenantIDLabel] != OwnerID(tn) || ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
		t.Fatalf("the created namespace: %v %v", err, ns.Labels)
	}
	if got := quotaGPU(t, r, "ferry-x"); got != "0" {
		t.Errorf("quota in the adopted namespace: %s", got)
	}
}
