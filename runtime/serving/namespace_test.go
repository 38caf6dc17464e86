package serving

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// TestControllerWritesNothingIntoANamespaceThatIsNotTheTenants: a
// deployment of a tenant whose namespace lacks the owner label, or carries
// another tenant's id, gets no Deployment, Service or key Secret there, its
// live revisions' reasons name the namespace and the label, and a gone
// deployment's objects there are not deleted; once the namespace is the
// tenant's, the revisions are made.
func TestControllerWritesNothingIntoANamespaceThatIsNotTheTenants(t *testing.T) {
	for name, label := range map[string]string{"no owner label": "", "another tenant's id": "0123456789abcdef0123"} {
		t.Run(name, func(t *testing.T) {
			c, db, cs, d, _ := newTestController(t)
			ctx := t.Context()
			ns, err := cs.CoreV1().Namespaces().Get(ctx, "ferry-a", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			owner := ns.Labels[tenants.TenantIDLabel]
			if label == "" {
				delete(ns.Labels, tenants.TenantIDLabel)
			} else {
				ns.Labels[tenants.TenantIDLabel] = label
			}
			if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			spec, err := Spec(d)
			if err != nil {
				t.Fatal(err)
			}
			// Objects of a deployment ferry no longer has: not ferry's to delete here.
			dep, svc, err := Objects(c.Pods, store.Deployment{Tenant: "a", Name: "old"}, spec, store.Revision{Number: 1}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cs.AppsV1().Deployments("ferry-a").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.CoreV1().Services("ferry-a").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}

			if err := c.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			for _, r := range []string{"iris-r1", "iris-r2"} {
				why := c.RevisionReason("a", "iris", r)
				if !strings.Contains(why, "namespace ferry-a") || !strings.Contains(why, tenants.TenantIDLabel) {
					t.Errorf("revision %s: reason %q, want one naming the namespace and the label", r, why)
				}
			}
			if l, _ := cs.AppsV1().Deployments("ferry-a").List(ctx, metav1.ListOptions{}); len(l.Items) != 1 || l.Items[0].Name != "old-r1" {
				t.Errorf("Deployments in a namespace that is not the tenant's: %d, want only old-r1 left alone", len(l.Items))
			}
			if l, _ := cs.CoreV1().Services("ferry-a").List(ctx, metav1.ListOptions{}); len(l.Items) != 1 || l.Items[0].Name != "old-r1" {
				t.Errorf("Services in a namespace that is not the tenant's: %d, want only old-r1 left alone", len(l.Items))
			}
			if l, _ := cs.CoreV1().Secrets("ferry-a").List(ctx, metav1.ListOptions{}); len(l.Items) > 0 {
				t.Error("a Secret was created in a namespace that is not the tenant's")
			}
			var keys []store.DeploymentKey
			_ = db.Read(ctx, func(tx *store.Tx) (err error) { keys, err = tx.DeploymentKeys(ctx, d.ID); return err })
			if len(keys) > 0 {
				t.Errorf("runtime keys minted for a Secret that was never written: %d", len(keys))
			}

			ns.Labels[tenants.TenantIDLabel] = owner
			if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := c.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.AppsV1().Deployments("ferry-a").Get(ctx, "iris-r1", metav1.GetOptions{}); err != nil {
				t.Errorf("the revision's Deployment once the namespace is the tenant's: %v", err)
			}
			if _, err := cs.AppsV1().Deployments("ferry-a").Get(ctx, "old-r1", metav1.GetOptions{}); err == nil {
				t.Error("the gone deployment's Deployment was kept once the namespace is the tenant's")
			}
		})
	}
}
