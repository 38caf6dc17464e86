package notebooks

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// clusterWithNamespace is a fake cluster holding tenant's namespace as the
// tenants reconciler makes it (owner label included).
func clusterWithNamespace(t *testing.T, db *store.DB, tenant string) *fake.Clientset {
	t.Helper()
	var tn store.Tenant
	if err := db.Read(t.Context(), func(tx *store.Tx) (err error) { tn, err = tx.Tenant(t.Context(), tenant); return }); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientset(tenants.NamespaceObject(tn))
}

// TestControllerWritesNothingIntoANamespaceThatIsNotTheTenants: a notebook
// of a tenant whose namespace lacks the owner label or carries another
// tenant's id gets no StatefulSet, Service or token Secret there (a sync
// or a start); its reason names the namespace and the label; once the
// namespace is the tenant's the next sync creates it; deleting it deletes
// nothing in a namespace that is not the tenant's.
func TestControllerWritesNothingIntoANamespaceThatIsNotTheTenants(t *testing.T) {
	for name, label := range map[string]string{"no owner label": "", "another tenant's id": "0123456789abcdef0123"} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var tn store.Tenant
			err = db.Write(ctx, func(tx *store.Tx) (err error) {
				if tn, err = tx.CreateTenant(ctx, store.Tenant{Name: "b", DisplayName: "b", Quota: store.Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
					return err
				}
				for _, nb := range []string{"nb", "other"} {
					if _, err := tx.CreateNotebook(ctx, store.Notebook{Tenant: "b", Name: nb, Image: "ferry.local/workload:1", Workspace: "1Gi",
						Resources: store.Resources{CPU: "1", Memory: "1Gi"}, CreatedBy: "alice"}); err != nil {
						return err
					}
				}
				_, err = tx.SetNotebookState(ctx, "b", "other", store.NotebookStopped, "")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ferry-b",
				Labels: map[string]string{tenants.ManagedByLabel: tenants.ManagedBy, tenants.TenantLabel: "b"}}}
			if label != "" {
				ns.Labels[tenants.TenantIDLabel] = label
			}
			// Someone else's Service that happens to have the notebook's name.
			theirs := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "nb-nb", Namespace: "ferry-b"}}
			cs := fake.NewClientset(ns, theirs)
			c := NewController(db, cs, slog.New(slog.NewTextHandler(io.Discard, nil)))
			c.InternalURL = "http://ferry.ferry-system.svc:8080"
			if err := c.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			started, err := c.Start(ctx, "b", "other", nil)
			if err != nil {
				t.Fatalf("Start = %v, want the refusal on the notebook, not an error", err)
			}
			for _, n := range []string{"nb", "other"} {
				var got store.Notebook
				_ = db.Read(ctx, func(tx *store.Tx) (err error) { got, err = tx.Notebook(ctx, "b", n); return })
				if !strings.HasPrefix(got.Reason, "refused: namespace ferry-b") || !strings.Contains(got.Reason, tenants.TenantIDLabel) {
					t.Errorf("notebook %s reason %q, want the refusal naming the namespace and the label", n, got.Reason)
				}
			}
			if !strings.HasPrefix(started.Reason, "refused:") {
				t.Errorf("Start answered reason %q, want the refusal", started.Reason)
			}
			if l, _ := cs.AppsV1().StatefulSets("ferry-b").List(ctx, metav1.ListOptions{}); len(l.Items) > 0 {
				t.Error("a StatefulSet was created in a namespace that is not the tenant's")
			}
			if l, _ := cs.CoreV1().Secrets("ferry-b").List(ctx, metav1.ListOptions{}); len(l.Items) > 0 {
				t.Error("a Secret was created in a namespace that is not the tenant's")
			}
			if svc, err := cs.CoreV1().Services("ferry-b").Get(ctx, "nb-nb", metav1.GetOptions{}); err != nil || len(svc.Labels) > 0 {
				t.Errorf("their Service was changed: %v %v", err, svc)
			}
			if err := c.Delete(ctx, "b", "other", nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, "b", "nb", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.CoreV1().Services("ferry-b").Get(ctx, "nb-nb", metav1.GetOptions{}); err != nil {
				t.Errorf("deleting notebook nb deleted their Service: %v", err)
			}
			// Once the namespace is the tenant's, a new notebook is created.
			if err := db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.CreateNotebook(ctx, store.Notebook{Tenant: "b", Name: "later", Image: "ferry.local/workload:1", Workspace: "1Gi",
					Resources: store.Resources{CPU: "1", Memory: "1Gi"}, CreatedBy: "alice"})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			ns.Labels[tenants.TenantIDLabel] = tenants.OwnerID(tn)
			if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			c.InternalURL = "" // no user alice: no token here
			if err := c.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.AppsV1().StatefulSets("ferry-b").Get(ctx, "nb-later", metav1.GetOptions{}); err != nil {
				t.Errorf("the notebook's StatefulSet once the namespace is the tenant's: %v", err)
			}
		})
	}
}
