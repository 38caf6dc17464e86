package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// TestControllerWritesNothingIntoANamespaceThatIsNotTheTenants: a job of a
// tenant whose namespace lacks the owner label, or carries another
// tenant's id, stays queued with a reason naming the namespace and the
// label, and nothing (Job, Service, token Secret) is created there; once
// the namespace is the tenant's, the job runs.
func TestControllerWritesNothingIntoANamespaceThatIsNotTheTenants(t *testing.T) {
	for name, label := range map[string]string{"no owner label": "", "another tenant's id": "0123456789abcdef0123"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			var tn store.Tenant
			f.write(func(tx *store.Tx) (err error) {
				tn, err = tx.CreateTenant(ctx, store.Tenant{Name: "b", DisplayName: "b", Quota: store.Quota{CPU: "8", Memory: "16Gi"}})
				return err
			})
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ferry-b",
				Labels: map[string]string{tenants.ManagedByLabel: tenants.ManagedBy, tenants.TenantLabel: "b"}}}
			if label != "" {
				ns.Labels[tenants.TenantIDLabel] = label
			}
			if _, err := f.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			f.submit(store.Job{Tenant: "b", Name: "train", Spec: job(0, "b", "train", 1, "1", "1Gi", 0).Spec, CreatedBy: "alice"})
			var j store.Job
			waitFor(t, func() bool {
				_ = f.db.Read(ctx, func(tx *store.Tx) (err error) { j, err = tx.Job(ctx, "b", "train"); return })
				return strings.HasPrefix(j.Reason, "refused: namespace ferry-b")
			})
			if j.State != store.JobQueued || !strings.Contains(j.Reason, tenants.TenantIDLabel) {
				t.Errorf("job %s: %q, want queued with a reason naming the label", j.State, j.Reason)
			}
			if l, _ := f.cs.BatchV1().Jobs("ferry-b").List(ctx, metav1.ListOptions{}); len(l.Items) > 0 {
				t.Error("a Job was created in a namespace that is not the tenant's")
			}
			if l, _ := f.cs.CoreV1().Services("ferry-b").List(ctx, metav1.ListOptions{}); len(l.Items) > 0 {
				t.Error("a Service was created in a namespace that is not the tenant's")
			}
			if l, _ := f.cs.CoreV1().Secrets("ferry-b").List(ctx, metav1.ListOptions{}); len(l.Items) > 0 {
				t.Error("a Secret was created in a namespace that is not the tenant's")
			}
			ns.Labels[tenants.TenantIDLabel] = tenants.OwnerID(tn)
			if _, err := f.cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			f.ctrl.Poke()
			waitFor(t, func() bool {
				_ = f.db.Read(ctx, func(tx *store.Tx) (err error) { j, err = tx.Job(ctx, "b", "train"); return })
				return j.State == store.JobRunning
			})
			if _, err := f.cs.BatchV1().Jobs("ferry-b").Get(ctx, "train", metav1.GetOptions{}); err != nil {
				t.Errorf("the job's Job once the namespace is the tenant's: %v", err)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatal("condition not met in time")
	}
}
