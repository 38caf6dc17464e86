package tenants

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/ferry-ml/ferry/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

func teamA() store.Tenant {
	return store.Tenant{Name: "team-a", DisplayName: "Team A", Quota: store.Quota{CPU: "8", Memory: "16Gi", GPU: 2}}
}

func TestObjectsMatchGoldenFiles(t *testing.T) {
	t.Parallel()
	cases := map[string]store.Tenant{
		"team-a.yaml": teamA(),
		// A quota smaller than the LimitRange defaults clips the defaults to it.
		"tiny.yaml": {Name: "tiny", Quota: store.Quota{CPU: "500m", Memory: "256Mi", GPU: 0}},
	}
	for golden, tenant := range cases {
		var buf bytes.Buffer
		for _, obj := range Objects(tenant) {
			b, err := yaml.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			buf.WriteString("---\n")
			buf.Write(b)
		}
		path := filepath.Join("testdata", golden)
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update creates it)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from the generated objects:\n%s", golden, buf.String())
		}
	}
}

func newStore(t *testing.T, tenants ...store.Tenant) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, tn := range tenants {
		if err := db.Write(t.Context(), func(tx *store.Tx) error { _, err := tx.CreateTenant(t.Context(), tn); return err }); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func quotaGPU(t *testing.T, r *Reconciler, ns string) string {
	t.Helper()
	q, err := r.Client.CoreV1().ResourceQuotas(ns).Get(context.Background(), QuotaName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("quota: %v", err)
	}
	v := q.Spec.Hard[corev1.ResourceName("requests."+GPUResource)]
	return v.String()
}

func TestReconcileCreatesRepairsUpdatesAndDeletes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newStore(t, teamA())
	r := &Reconciler{Store: db, Client: fake.NewClientset()}
	if err := r.Reconcile(ctx, "team-a"); err != nil {
		t.Fatal(err)
	}
	ns := Namespace("team-a")
	if _, err := r.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace: %v", err)
	}
	nps, _ := r.Client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if len(nps.Items) != 2 {
		t.Fatalf("network policies: %d, want 2", len(nps.Items))
	}
	if got := quotaGPU(t, r, ns); got != "2" {
		t.Fatalf("gpu quota %s, want 2", got)
	}
	// Idempotent: a second pass changes nothing and fails on nothing.
	if err := r.Reconcile(ctx, "team-a"); err != nil {
		t.Fatalf("second reconcile: %v", err)
	}
	// Drift: a deleted quota comes back.
	if err := r.Client.CoreV1().ResourceQuotas(ns).Delete(ctx, QuotaName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Reconcile(ctx, "team-a"); err != nil {
		t.Fatal(err)
	}
	if got := quotaGPU(t, r, ns); got != "2" {
		t.Fatalf("repaired gpu quota %s", got)
	}
	// A changed quota in the store reaches the cluster.
	_ = db.Write(ctx, func(tx *store.Tx) error {
		tn := teamA()
		tn.Quota.GPU = 4
		_, err := tx.UpdateTenant(ctx, tn)
		return err
	})
	if err := r.Reconcile(ctx, "team-a"); err != nil {
		t.Fatal(err)
	}
	if got := quotaGPU(t, r, ns); got != "4" {
		t.Fatalf("updated gpu quota %s, want 4", got)
	}
	// A deleted tenant takes its namespace with it.
	_ = db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteTenant(ctx, "team-a") })
	if err := r.Reconcile(ctx, "team-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace of a deleted tenant: %v", err)
	}
}

func TestReconcileNeverDeletesANamespaceFerryDoesNotManage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace("ghost"), Labels: map[string]string{"owner": "someone"}}}
	r := &Reconciler{Store: newStore(t), Client: fake.NewClientset(foreign)}
	if err := r.Reconcile(ctx, "ghost"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Client.CoreV1().Namespaces().Get(ctx, Namespace("ghost"), metav1.GetOptions{}); err != nil {
		t.Fatalf("unmanaged namespace deleted: %v", err)
	}
}

func TestControllerRepairsADeletedQuotaWithoutBeingAsked(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &Reconciler{Store: newStore(t, teamA()), Client: fake.NewClientset()}
	c := NewController(r, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	ns := Namespace("team-a")
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	quotaExists := func() bool {
		_, err := r.Client.CoreV1().ResourceQuotas(ns).Get(ctx, QuotaName, metav1.GetOptions{})
		return err == nil
	}
	waitFor("the initial resync to create the quota", quotaExists)
	time.Sleep(200 * time.Millisecond) // let the informers sync
	if err := r.Client.CoreV1().ResourceQuotas(ns).Delete(ctx, QuotaName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the informer to bring the quota back", quotaExists)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
