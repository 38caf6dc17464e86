package notebooks

import (
	"errors"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

const internalURL = "http://ferry.ferry-system.svc:8080"

// tokenFixture is tenant "a" with alice (editor) and her running notebook "nb".
type tokenFixture struct {
	t  *testing.T
	db *store.DB
	cs *fake.Clientset
}

func newTokenFixture(t *testing.T) *tokenFixture {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
			return err
		}
		u, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		if err := tx.PutMember(ctx, "a", u.ID, store.RoleEditor); err != nil {
			return err
		}
		_, err = tx.CreateNotebook(ctx, store.Notebook{Tenant: "a", Name: "nb", Image: "ferry.local/workload:1", Workspace: "1Gi",
			Resources: store.Resources{CPU: "1", Memory: "1Gi"}, CreatedBy: "alice"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return &tokenFixture{t: t, db: db, cs: clusterWithNamespace(t, db, "a")}
}

// controller is a new controller on the fixture's store and cluster (a
// restarted server's, when called again).
func (f *tokenFixture) controller(url string) *Controller {
	c := NewController(f.db, f.cs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.InternalURL = url
	return c
}

func (f *tokenFixture) sync(c *Controller) {
	f.t.Helper()
	if err := c.Sync(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
}

// secret is the token in the notebook's Secret ("" without one).
func (f *tokenFixture) secret() string {
	f.t.Helper()
	sec, err := f.cs.CoreV1().Secrets("ferry-a").Get(f.t.Context(), TokenSecretName("nb"), metav1.GetOptions{})
	if err != nil {
		return ""
	}
	if !maps.Equal(sec.Labels, Labels("a", "nb")) {
		f.t.Errorf("token Secret labels: %v", sec.Labels)
	}
	if s := sec.StringData[TokenSecretKey]; s != "" { // the fake clientset keeps StringData as given
		return s
	}
	return string(sec.Data[TokenSecretKey])
}

func (f *tokenFixture) sts() *appsv1.StatefulSet {
	f.t.Helper()
	sts, err := f.cs.AppsV1().StatefulSets("ferry-a").Get(f.t.Context(), "nb-nb", metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return sts
}

// identity authenticates a token as the API does; err is how it fails.
func (f *tokenFixture) identity(secret string) (auth.TokenIdentity, error) {
	return (&auth.Authenticator{DB: f.db}).TenantTokenIdentity(f.t.Context(), secret)
}

func (f *tokenFixture) live(secret string) bool {
	f.t.Helper()
	_, err := f.identity(secret)
	if err != nil && !errors.Is(err, auth.ErrInvalid) {
		f.t.Fatal(err)
	}
	return err == nil
}

func envOf(sts *appsv1.StatefulSet) map[string]corev1.EnvVar {
	env := map[string]corev1.EnvVar{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	return env
}

// TestARunningNotebooksPodGetsATenantTokenThatEndsWhenItStops: the pod's
// environment names the server, its tenant and MLflow, with a token from
// the notebook's Secret that acts as the creator within the tenant only; a
// second pass keeps it; stopping revokes it and deletes the Secret; starting
// mints a new one; deleting the notebook revokes it and deletes the Secret.
func TestARunningNotebooksPodGetsATenantTokenThatEndsWhenItStops(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	ctx := t.Context()
	c := f.controller(internalURL)
	f.sync(c)
	token := f.secret()
	if token == "" {
		t.Fatal("a running notebook has no token Secret")
	}
	id, err := f.identity(token)
	if err != nil || id.Name != "alice" || id.Tenant != "a" || id.Run != "" || id.Scope != store.NotebookScope("a", "nb") {
		t.Fatalf("the Secret's token: %+v %v, want alice's limited to tenant a", id, err)
	}
	if id.TokenExpiresAt == nil || id.TokenExpiresAt.After(time.Now().Add(TokenTTL)) {
		t.Errorf("the notebook's token expires at %v, want within %v", id.TokenExpiresAt, TokenTTL)
	}
	sts := f.sts()
	env := envOf(sts)
	for name, want := range map[string]string{v1.EnvServer: internalURL, v1.EnvTenant: "a", v1.EnvNotebook: "nb", v1.EnvTrackingURI: internalURL + "/mlflow/a"} {
		if env[name].Value != want {
			t.Errorf("%s = %q, want %q", name, env[name].Value, want)
		}
	}
	for _, name := range []string{v1.EnvToken, v1.EnvTrackingToken} {
		ref := env[name].ValueFrom
		if env[name].Value != "" || ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != TokenSecretName("nb") || ref.SecretKeyRef.Key != TokenSecretKey {
			t.Errorf("%s is not read from the notebook's Secret: %+v", name, env[name])
		}
	}
	if got := sts.Spec.Template.Annotations[TokenAnnotation]; got != id.TokenID {
		t.Errorf("pod template names token %q, want %q", got, id.TokenID)
	}

	// A second pass, and a restarted server, keep the written token.
	f.sync(c)
	f.sync(f.controller(internalURL))
	if f.secret() != token || !f.live(token) {
		t.Fatal("a later pass replaced a live, written token (the running pod would lose it)")
	}

	// Stopped: revoked and its Secret gone.
	if _, err := c.Stop(ctx, "a", "nb", "stopped by alice", nil); err != nil {
		t.Fatal(err)
	}
	if f.live(token) || f.secret() != "" {
		t.Fatalf("a stopped notebook's token: live %v, Secret %q", f.live(token), f.secret())
	}
	if e := envOf(f.sts()); e[v1.EnvToken].ValueFrom != nil {
		t.Error("a stopped notebook's StatefulSet still reads the token Secret")
	}
	f.sync(c)
	if f.secret() != "" {
		t.Fatal("a pass over a stopped notebook wrote its Secret again")
	}

	// Started again: a new token.
	if _, err := c.Start(ctx, "a", "nb", nil); err != nil {
		t.Fatal(err)
	}
	again := f.secret()
	if again == "" || again == token || !f.live(again) {
		t.Fatal("a restarted notebook has no new live token")
	}

	// Deleted: revoked, Secret gone.
	if err := c.Delete(ctx, "a", "nb", nil); err != nil {
		t.Fatal(err)
	}
	if f.live(again) || f.secret() != "" {
		t.Fatalf("a deleted notebook's token: live %v, Secret %q", f.live(again), f.secret())
	}
}

// TestATokenNotKnownWrittenIsReplacedAfterARestart: a token minted but
// never recorded as in the Secret (the server stopped in between) cannot
// be read back, so the next server revokes it and writes a new one; the
// pod template then names the new token, which rolls the pod.
func TestATokenNotKnownWrittenIsReplacedAfterARestart(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	ctx := t.Context()
	var lost string
	if err := f.db.Write(ctx, func(tx *store.Tx) (err error) {
		_, lost, err = tx.MintNotebookToken(ctx, "a", "nb", TokenTTL)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.sync(f.controller(internalURL))
	token := f.secret()
	if token == "" || token == lost || f.live(lost) || !f.live(token) {
		t.Fatalf("after the restart: Secret %q, the unwritten token live %v", token, f.live(lost))
	}
	id, _ := f.identity(token)
	if got := f.sts().Spec.Template.Annotations[TokenAnnotation]; got != id.TokenID {
		t.Errorf("pod template names token %q, want %q", got, id.TokenID)
	}
}

// TestARevokedNotebookTokenIsReplaced: a token revoked by hand (say
// after a leak) is not given back; the next pass writes a new one.
func TestARevokedNotebookTokenIsReplaced(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	ctx := t.Context()
	c := f.controller(internalURL)
	f.sync(c)
	token := f.secret()
	id, _ := f.identity(token)
	if err := f.db.Write(ctx, func(tx *store.Tx) error { return tx.RevokeTokenID(ctx, id.TokenID) }); err != nil {
		t.Fatal(err)
	}
	f.sync(c)
	if next := f.secret(); next == token || !f.live(next) || f.live(token) {
		t.Fatal("a revoked notebook token was not replaced by a new one")
	}
}

// TestWithoutAnInternalURLANotebookGetsNoCredentials: no URL, no token.
func TestWithoutAnInternalURLANotebookGetsNoCredentials(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	c := f.controller(internalURL)
	f.sync(c)
	token := f.secret()
	// The server comes back without --internal-url: the token ends.
	f.sync(f.controller(""))
	if f.secret() != "" || f.live(token) {
		t.Fatal("a notebook kept its token on a server without an internal URL")
	}
	sts := f.sts()
	if len(sts.Spec.Template.Spec.Containers[0].Env) != 0 || sts.Spec.Template.Annotations[TokenAnnotation] != "" {
		t.Errorf("a notebook without access has env %v, annotations %v", sts.Spec.Template.Spec.Containers[0].Env, sts.Spec.Template.Annotations)
	}
}

// TestANotebooksPodGetsTheGatewaysURLWhenTheServerKnowsIt: FERRY_GATEWAY
// (client.infer's default in the SDK) is the server's --gateway-internal-url,
// beside the credentials; without one, or without credentials, it is absent.
func TestANotebooksPodGetsTheGatewaysURLWhenTheServerKnowsIt(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	const gw = "http://ferry-gateway.ferry-system.svc:8081"
	f.sync(f.controller(internalURL))
	if e, ok := envOf(f.sts())[v1.EnvGateway]; ok {
		t.Errorf("a server without a gateway URL set %s = %+v", v1.EnvGateway, e)
	}
	c := f.controller(internalURL)
	c.GatewayURL = gw
	f.sync(c)
	if got := envOf(f.sts())[v1.EnvGateway]; got.Value != gw || got.ValueFrom != nil {
		t.Errorf("%s = %+v, want %q", v1.EnvGateway, got, gw)
	}
	c = f.controller("")
	c.GatewayURL = gw
	f.sync(c)
	if e, ok := envOf(f.sts())[v1.EnvGateway]; ok {
		t.Errorf("a notebook without credentials got %s = %+v", v1.EnvGateway, e)
	}
}

// TestStartsAndPassesAtOnceMintOneToken: the API's Start and the loop's
// passes write a notebook at the same time; each start mints one token and
// writes its Secret once, so the pod template names one token and the pod
// the first write started is not rolled by a second (which, in a cluster,
// interrupted the kernel in the middle of a cell).
func TestStartsAndPassesAtOnceMintOneToken(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	ctx := t.Context()
	c := f.controller(internalURL)
	secretWrites := func() (n int) {
		for _, a := range f.cs.Actions() {
			if a.GetResource().Resource == "secrets" && (a.GetVerb() == "patch" || a.GetVerb() == "create" || a.GetVerb() == "update") {
				n++
			}
		}
		return n
	}
	for round := range 20 {
		if _, err := c.Stop(ctx, "a", "nb", "stopped by alice", nil); err != nil {
			t.Fatal(err)
		}
		before := secretWrites()
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		wg.Go(func() { _, err := c.Start(ctx, "a", "nb", nil); errs <- err })
		for range 3 {
			wg.Go(func() { errs <- c.Sync(ctx) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := secretWrites() - before; n != 1 {
			t.Fatalf("round %d: a start beside three passes wrote the token Secret %d times, want once", round, n)
		}
		id, err := f.identity(f.secret())
		if err != nil {
			t.Fatalf("round %d: the Secret's token: %v", round, err)
		}
		if got := f.sts().Spec.Template.Annotations[TokenAnnotation]; got != id.TokenID {
			t.Fatalf("round %d: pod template names token %q, the Secret holds %q", round, got, id.TokenID)
		}
	}
}

// TestAPassWithAStaleListDoesNotUndoAStop: a pass that listed a notebook
// as running before the user stopped it writes what is stored when it
// writes, so the StatefulSet stays at zero.
func TestAPassWithAStaleListDoesNotUndoAStop(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	ctx := t.Context()
	c := f.controller(internalURL)
	f.sync(c)
	var running store.Notebook
	if err := f.db.Read(ctx, func(tx *store.Tx) (err error) { running, err = tx.Notebook(ctx, "a", "nb"); return }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stop(ctx, "a", "nb", "stopped by alice", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.write(ctx, running); err != nil { // what the pass read before the Stop
		t.Fatal(err)
	}
	if r := f.sts().Spec.Replicas; r == nil || *r != 0 {
		t.Fatalf("a pass with a list from before the Stop scaled the notebook to %v", r)
	}
	if f.secret() != "" {
		t.Error("a pass with a list from before the Stop wrote the token Secret again")
	}
}
