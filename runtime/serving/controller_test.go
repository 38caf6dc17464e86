package serving

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

func newTestController(t *testing.T) (*Controller, *store.DB, *fake.Clientset, store.Deployment, *time.Time) {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	spec, _ := json.Marshal(v1.DeploymentSpec{Runtime: v1.RuntimeSklearn, Port: RuntimePort, Min: 0, Max: 3, Concurrency: 2, IdleSeconds: 60,
		Resources: v1.Resources{CPU: "1", Memory: "1Gi"}, Rollout: v1.RolloutPolicy{StepWeight: 20, BakeSeconds: 10}})
	var d store.Deployment
	var tn store.Tenant
	err = db.Write(ctx, func(tx *store.Tx) (err error) {
		if tn, err = tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
			return err
		}
		d, err = tx.CreateDeployment(ctx, store.Deployment{Tenant: "a", Name: "iris", Spec: spec, CreatedBy: "alice"}, store.Revision{Model: "iris", Version: 1, Digest: "d1"})
		if err != nil {
			return err
		}
		if err := tx.SetRevisionTraffic(ctx, d.ID, 1, store.RevisionStable, 80); err != nil {
			return err
		}
		_, err = tx.AddRevision(ctx, d.ID, store.Revision{Model: "iris", Version: 2, Digest: "d2", Role: store.RevisionCanary, Weight: 20})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(tenants.NamespaceObject(tn))
	now := time.Now()
	c := NewController(db, cs, PodConfig{WorkloadImage: "w", URL: "http://cp"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.Now = func() time.Time { return now }
	return c, db, cs, d, &now
}

func TestFailingCanaryIsRolledBackAndRecordedWhileStableKeepsServing(t *testing.T) {
	c, db, cs, d, now := newTestController(t)
	ctx := t.Context()
	c.Stats.Report(*now, v1.GatewayReport{Gateway: "g1", Revisions: []v1.RevisionReport{
		{Tenant: "a", Deployment: "iris", Revision: "iris-r1", Requests: 80, P99Ms: 5},
		{Tenant: "a", Deployment: "iris", Revision: "iris-r2", Requests: 20, Errors: 20, P99Ms: 5},
	}})
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var got store.Deployment
	var evs []store.DeploymentEvent
	var audit []store.AuditEntry
	_ = db.Read(ctx, func(tx *store.Tx) (err error) {
		got, _ = tx.DeploymentByID(ctx, d.ID)
		evs, _ = tx.DeploymentEvents(ctx, d.ID, 100)
		audit, err = tx.ListAudit(ctx, store.AuditFilter{Limit: 100})
		return err
	})
	if got.Revisions[0].Weight != 100 || got.Revisions[0].Role != store.RevisionStable || got.Revisions[1].Role != store.RevisionRetired || got.Revisions[1].Weight != 0 {
		t.Fatalf("after a failing canary: %+v", got.Revisions)
	}
	found := false
	for _, e := range evs {
		found = found || e.Kind == "rolledBack"
	}
	if !found {
		t.Errorf("events %+v lack the rollback", evs)
	}
	audited := false
	for _, a := range audit {
		audited = audited || (a.Action == "serving.rolledBack" && a.Target == "deployment/iris" && a.Tenant == "a")
	}
	if !audited {
		t.Errorf("no audit row for the rollback: %+v", audit)
	}
	if _, err := cs.AppsV1().Deployments("ferry-a").Get(ctx, "iris-r1", metav1.GetOptions{}); err != nil {
		t.Errorf("stable's Deployment: %v", err)
	}
	if _, err := cs.AppsV1().Deployments("ferry-a").Get(ctx, "iris-r2", metav1.GetOptions{}); err == nil {
		t.Errorf("the rolled back canary's Deployment is still there")
	}
}

func TestHeldRequestScalesFromZeroAndIdleScalesToZero(t *testing.T) {
	c, db, cs, d, now := newTestController(t)
	ctx := t.Context()
	replicas := func() int32 {
		dep, err := cs.AppsV1().Deployments("ferry-a").Get(ctx, "iris-r1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *dep.Spec.Replicas
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := replicas(); n != 0 {
		t.Fatalf("unused min-0 revision at %d replicas, want 0", n)
	}
	var polls []time.Duration
	c.after = func(d time.Duration, _ func()) { polls = append(polls, d) }
	c.Stats.Report(*now, v1.GatewayReport{Gateway: "g1", Revisions: []v1.RevisionReport{{Tenant: "a", Deployment: "iris", Revision: "iris-r1", Waiting: 1}}})
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := replicas(); n != 1 {
		t.Fatalf("with a held request: %d replicas, want 1", n)
	}
	// No replica is ready yet and a request waits: the next pass is soon,
	// not a resync away, so the first ready replica is routed quickly.
	if len(polls) != 1 || polls[0] != StartingPoll {
		t.Fatalf("passes scheduled while starting: %v, want one after %s", polls, StartingPoll)
	}
	dep, err := cs.AppsV1().Deployments("ferry-a").Get(ctx, "iris-r1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep.Status.ReadyReplicas = 1
	if _, err := cs.AppsV1().Deployments("ferry-a").UpdateStatus(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(polls) != 1 {
		t.Fatalf("a ready revision still polled soon: %v", polls)
	}
	c.Stats.Report(*now, v1.GatewayReport{Gateway: "g1", Revisions: []v1.RevisionReport{{Tenant: "a", Deployment: "iris", Revision: "iris-r1"}}})
	*now = now.Add(2 * time.Minute)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := replicas(); n != 0 {
		t.Fatalf("idle for 2m (idle 60s): %d replicas, want 0", n)
	}
	_ = db.Read(ctx, func(tx *store.Tx) error {
		evs, _ := tx.DeploymentEvents(ctx, d.ID, 100)
		if len(evs) < 2 {
			t.Errorf("scale events %+v, want from 0 to 1 and back", evs)
		}
		return nil
	})
}

func TestMovingTheFollowedAliasStartsACanaryOnce(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	spec, _ := json.Marshal(v1.DeploymentSpec{Model: "iris@champion", Runtime: v1.RuntimeSklearn, Port: RuntimePort, Min: 1, Max: 1, Concurrency: 1,
		Resources: v1.Resources{CPU: "1", Memory: "1Gi"}, Rollout: v1.RolloutPolicy{StepWeight: 20, BakeSeconds: 10}})
	var d store.Deployment
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
			return err
		}
		if _, err := tx.CreateUser(ctx, "alice", false); err != nil {
			return err
		}
		if _, err := tx.CreateRegisteredModel(ctx, store.RegisteredModel{Tenant: "a", Name: "iris"}); err != nil {
			return err
		}
		for i := range 2 {
			run, err := tx.CreateJobRun(ctx, "a", "", "train", "alice")
			if err != nil {
				return err
			}
			if err := tx.PutRunArtifact(ctx, "a", run.ID, "model/model.pkl", strings.Repeat(string(rune('a'+i)), 64), 1); err != nil {
				return fmt.Errorf("put artifact: %w", err)
			}
			if _, err := tx.CreateModelVersion(ctx, store.ModelVersion{Tenant: "a", Name: "iris", Source: "runs:/" + run.ID + "/model", RunID: run.ID}); err != nil {
				return err
			}
		}
		if err := tx.SetModelAlias(ctx, "a", "iris", "champion", 1); err != nil {
			return fmt.Errorf("alias: %w", err)
		}
		rev, err := Resolve(ctx, tx, "a", "iris@champion")
		if err != nil {
			return err
		}
		d, err = tx.CreateDeployment(ctx, store.Deployment{Tenant: "a", Name: "iris", Spec: spec, CreatedBy: "alice"}, rev)
		if err != nil {
			return fmt.Errorf("create deployment: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := NewController(db, fake.NewClientset(), PodConfig{WorkloadImage: "w", URL: "http://cp"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	revisions := func() []store.Revision {
		var got store.Deployment
		_ = db.Read(ctx, func(tx *store.Tx) (err error) { got, err = tx.DeploymentByID(ctx, d.ID); return err })
		return got.Revisions
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(revisions()); n != 1 {
		t.Fatalf("alias unchanged: %d revisions, want 1", n)
	}
	_ = db.Write(ctx, func(tx *store.Tx) error { return tx.SetModelAlias(ctx, "a", "iris", "champion", 2) })
	for range 2 {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	revs := revisions()
	if len(revs) != 2 || revs[1].Version != 2 || revs[1].Role != store.RevisionCanary || revs[1].Weight != DefaultCanaryWeight || revs[0].Weight != 100-DefaultCanaryWeight {
		t.Fatalf("after moving the alias to 2: %+v", revs)
	}
}

func TestADeletedDeploymentLeavesNoServiceOrKeySecretEvenWithoutItsDeployment(t *testing.T) {
	c, db, cs, d, _ := newTestController(t)
	ctx := t.Context()
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// A pass that ended between the Deployment's removal and the rest.
	if err := cs.AppsV1().Deployments("ferry-a").Delete(ctx, "iris-r1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteDeployment(ctx, d.Tenant, d.Name) }); err != nil {
		t.Fatal(err)
	}
	// Someone else's Service with the label, outside ferry's namespaces, stays.
	other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default", Labels: map[string]string{DeploymentLabel: "iris"}}}
	if _, err := cs.CoreV1().Services("default").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	neverReadsSecrets(t, cs)
	deps, _ := cs.AppsV1().Deployments("ferry-a").List(ctx, metav1.ListOptions{})
	svcs, _ := cs.CoreV1().Services("ferry-a").List(ctx, metav1.ListOptions{})
	secs, _ := cs.CoreV1().Secrets("ferry-a").List(ctx, metav1.ListOptions{})
	if n := len(deps.Items) + len(svcs.Items) + len(secs.Items); n != 0 {
		t.Errorf("the deleted deployment left %d objects: %d deployments, %d services, %d secrets", n, len(deps.Items), len(svcs.Items), len(secs.Items))
	}
	if _, err := cs.CoreV1().Services("default").Get(ctx, "x", metav1.GetOptions{}); err != nil {
		t.Errorf("a Service outside ferry's namespaces was deleted: %v", err)
	}
}

// neverReadsSecrets fails when the controller got, listed or watched a
// Secret: the chart grants the control plane Secret writes only.
func neverReadsSecrets(t *testing.T, cs *fake.Clientset) {
	t.Helper()
	for _, a := range cs.Actions() {
		if a.GetResource().Resource == "secrets" && (a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch") {
			t.Errorf("the controller did %s on secrets in %q, which its RBAC does not allow", a.GetVerb(), a.GetNamespace())
		}
	}
}

func TestTheRuntimeKeyIsAppliedOncePerProcessAndARecreatedDeploymentGetsALiveOne(t *testing.T) {
	c, db, cs, d, _ := newTestController(t)
	ctx := t.Context()
	for range 3 {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	neverReadsSecrets(t, cs)
	// secretKeyWorks says whether the key in the Secret is one of the
	// runtime keys the store holds for the deployment named iris now.
	secretKeyWorks := func() (bool, int) {
		sec, err := cs.CoreV1().Secrets("ferry-a").Get(ctx, "ferry-serve-iris", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var hashes []string
		_ = db.Read(ctx, func(tx *store.Tx) error {
			cur, err := tx.Deployment(ctx, "a", "iris")
			if err != nil {
				return err
			}
			hashes, err = tx.DeploymentKeyHashesNamed(ctx, cur.ID, RuntimeKeyName)
			return err
		})
		return slices.Contains(hashes, store.HashKey(sec.StringData[KeySecretKey])), len(hashes)
	}
	if ok, n := secretKeyWorks(); !ok || n != 1 {
		t.Fatalf("after three passes: the Secret's key is live %v, %d runtime keys (want true, 1)", ok, n)
	}
	// Restarts mint and apply a new key each and keep at most 3.
	for range 4 {
		cs.ClearActions()
		if err := NewController(db, cs, c.Pods, c.Log).Sync(ctx); err != nil {
			t.Fatal(err)
		}
		neverReadsSecrets(t, cs)
	}
	if ok, n := secretKeyWorks(); !ok || n != keptRuntimeKeys {
		t.Errorf("after 4 restarts: the Secret's key is live %v, %d runtime keys (want true, %d)", ok, n, keptRuntimeKeys)
	}
	// Deleted and made again under the same name within one pass.
	spec, _ := json.Marshal(v1.DeploymentSpec{Runtime: v1.RuntimeSklearn, Port: RuntimePort, Min: 1, Max: 1, Concurrency: 2, IdleSeconds: 60,
		Resources: v1.Resources{CPU: "1", Memory: "1Gi"}, Rollout: v1.RolloutPolicy{StepWeight: 20, BakeSeconds: 10}})
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteDeployment(ctx, "a", "iris"); err != nil {
			return err
		}
		_, err := tx.CreateDeployment(ctx, store.Deployment{Tenant: "a", Name: "iris", Spec: spec, CreatedBy: "alice"}, store.Revision{Model: "iris", Version: 3, Digest: "d3"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := secretKeyWorks(); !ok {
		t.Error("the re-created deployment's pods would hold the deleted one's key")
	}
	_ = d
}
