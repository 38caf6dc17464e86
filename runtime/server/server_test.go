package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// env is a control plane running in-process on 127.0.0.1:0 with a real store.
type env struct {
	t     testing.TB
	url   string
	admin string
	dir   string
	srv   *Server
	stop  func() error
}

func start(t *testing.T) *env {
	t.Helper()
	return restart(t, t.TempDir())
}

type answer struct {
	status int
	raw    string
	body   map[string]any
}

func (e *env) do(method, path, token string, body any) answer {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (e *env) must(want int, method, path, token string, body any) answer {
	e.t.Helper()
	a := e.do(method, path, token, body)
	if a.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.status, want, a.raw)
	}
	return a
}

func (e *env) user(name string) string {
	e.t.Helper()
	a := e.must(201, "POST", "/api/v1/users", e.admin, map[string]any{"name": name})
	return a.body["token"].(string)
}

func (e *env) auditCount() int {
	e.t.Helper()
	a := e.must(200, "GET", "/api/v1/audit?limit=1000", e.admin, nil)
	return len(a.body["items"].([]any))
}

// twoTenants sets up tenants a and b with owners alice and bob.
func (e *env) twoTenants() (alice, bob string) {
	alice, bob = e.user("alice"), e.user("bob")
	e.must(201, "POST", "/api/v1/tenants", e.admin, map[string]any{"name": "a", "owner": "alice", "quota": map[string]any{"cpu": "8", "memory": "16Gi", "gpu": 1}})
	e.must(201, "POST", "/api/v1/tenants", e.admin, map[string]any{"name": "b", "owner": "bob", "displayName": "Secret B"})
	return alice, bob
}

func TestEndpointsOfAnotherTenantAnswer404AndLeakNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, _ := e.twoTenants()
	e.user("carol")
	cases := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/tenants/%s", nil},
		{"PATCH", "/api/v1/tenants/%s", map[string]any{"displayName": "pwned"}},
		{"DELETE", "/api/v1/tenants/%s", nil},
		{"GET", "/api/v1/tenants/%s/members", nil},
		{"PUT", "/api/v1/tenants/%s/members/carol", map[string]any{"role": "owner"}},
		{"DELETE", "/api/v1/tenants/%s/members/bob", nil},
		{"GET", "/api/v1/audit?tenant=%s", nil},
	}
	for _, c := range cases {
		existing := e.do(c.method, strings.Replace(c.path, "%s", "b", 1), alice, c.body)
		missing := e.do(c.method, strings.Replace(c.path, "%s", "zz", 1), alice, c.body)
		if existing.status != http.StatusNotFound {
			t.Errorf("%s %s as alice: status %d, want 404: %s", c.method, c.path, existing.status, existing.raw)
		}
		if strings.Contains(existing.raw, "Secret B") || strings.Contains(existing.raw, "bob") {
			t.Errorf("%s %s leaked tenant b's data: %s", c.method, c.path, existing.raw)
		}
		if strings.ReplaceAll(existing.raw, `"b`, `"zz`) != strings.ReplaceAll(missing.raw, "tenant zz", "tenant zz") &&
			strings.ReplaceAll(existing.raw, "tenant b ", "tenant zz ") != missing.raw {
			t.Errorf("%s %s: answer for a hidden tenant differs from a missing one:\n%s\n%s", c.method, c.path, existing.raw, missing.raw)
		}
	}
	list := e.must(200, "GET", "/api/v1/tenants", alice, nil)
	if strings.Contains(list.raw, `"b"`) || len(list.body["items"].([]any)) != 1 {
		t.Errorf("alice's tenant list shows more than tenant a: %s", list.raw)
	}
	// Nothing changed in b.
	got := e.must(200, "GET", "/api/v1/tenants/b", e.admin, nil)
	if got.body["displayName"] != "Secret B" {
		t.Errorf("tenant b changed: %s", got.raw)
	}
	members := e.must(200, "GET", "/api/v1/tenants/b/members", e.admin, nil)
	if n := len(members.body["items"].([]any)); n != 1 {
		t.Errorf("tenant b has %d members, want 1 (bob)", n)
	}
}

func TestRolesLimitWhatMembersMayDo(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, _ := e.twoTenants()
	viewer := e.user("vic")
	e.must(200, "PUT", "/api/v1/tenants/a/members/vic", alice, map[string]any{"role": "viewer"})
	e.must(200, "GET", "/api/v1/tenants/a", viewer, nil)
	e.must(200, "GET", "/api/v1/tenants/a/members", viewer, nil)
	e.must(403, "PATCH", "/api/v1/tenants/a", viewer, map[string]any{"displayName": "x"})
	e.must(403, "PUT", "/api/v1/tenants/a/members/vic", viewer, map[string]any{"role": "owner"})
	e.must(403, "GET", "/api/v1/audit?tenant=a", viewer, nil)
	e.must(403, "GET", "/api/v1/audit", alice, nil)
	e.must(200, "GET", "/api/v1/audit?tenant=a", alice, nil)
	e.must(403, "POST", "/api/v1/tenants", alice, map[string]any{"name": "c"})
	e.must(403, "DELETE", "/api/v1/tenants/a", alice, nil)
	e.must(403, "PATCH", "/api/v1/tenants/a", alice, map[string]any{"quota": map[string]any{"cpu": "100"}})
	e.must(200, "PATCH", "/api/v1/tenants/a", alice, map[string]any{"displayName": "Team A"})
	e.must(403, "GET", "/api/v1/audit/verify", alice, nil)
	who := e.must(200, "GET", "/api/v1/whoami", viewer, nil)
	if who.body["name"] != "vic" || !strings.Contains(who.raw, `"role":"viewer"`) {
		t.Errorf("whoami = %s", who.raw)
	}
	e.must(204, "DELETE", "/api/v1/tenants/a/members/vic", alice, nil)
	e.must(404, "GET", "/api/v1/tenants/a", viewer, nil)
}

func TestTokensAreRefusedWithoutBearerAndAfterRevocation(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice := e.user("alice")
	e.must(401, "GET", "/api/v1/whoami", "", nil)
	e.must(401, "GET", "/api/v1/whoami", "ferry_not-a-token", nil)
	made := e.must(201, "POST", "/api/v1/tokens", alice, map[string]any{"name": "ci", "expiresIn": "1h"})
	secret, id := made.body["secret"].(string), made.body["id"].(string)
	e.must(200, "GET", "/api/v1/whoami", secret, nil)
	list := e.must(200, "GET", "/api/v1/tokens", alice, nil)
	if strings.Contains(list.raw, secret) || !strings.Contains(list.raw, id) {
		t.Errorf("token list shows secrets or misses the token: %s", list.raw)
	}
	bob := e.user("bob")
	e.must(404, "DELETE", "/api/v1/tokens/"+id, bob, nil)
	e.must(200, "GET", "/api/v1/whoami", secret, nil)
	e.must(204, "DELETE", "/api/v1/tokens/"+id, alice, nil)
	e.must(401, "GET", "/api/v1/whoami", secret, nil)
	e.must(422, "POST", "/api/v1/tokens", alice, map[string]any{"name": "x", "expiresIn": "soon"})
}

func TestBadInputIsAProblemNamingTheFieldAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	cases := []struct {
		name, body, field string
		status            int
	}{
		{"bad name", `{"name":"Team_A"}`, "body.name", 422},
		{"name too long", `{"name":"` + strings.Repeat("a", 58) + `"}`, "body.name", 422},
		{"unknown field", `{"name":"a","colour":"red"}`, "body.colour", 422},
		{"negative gpu", `{"name":"a","quota":{"gpu":-1}}`, "body.quota.gpu", 422},
		{"bad cpu", `{"name":"a","quota":{"cpu":"lots"}}`, "body.quota.cpu", 422},
		{"owner missing", `{"name":"a","owner":"nobody"}`, "body.owner", 422},
		{"not json", `{"name":`, "body", 400},
		{"too large", `{"name":"a","displayName":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413},
	}
	for _, c := range cases {
		before := e.auditCount()
		a := e.do("POST", "/api/v1/tenants", e.admin, c.body)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d: %.300s", c.name, a.status, c.status, a.raw)
			continue
		}
		if c.field != "" && !strings.Contains(a.raw, c.field) {
			t.Errorf("%s: problem does not name %s: %s", c.name, c.field, a.raw)
		}
		if ct := a.body["status"]; ct == nil {
			t.Errorf("%s: not a problem document: %.300s", c.name, a.raw)
		}
		if got := e.auditCount(); got != before+1 {
			t.Errorf("%s: audit rows %d -> %d, want exactly one more", c.name, before, got)
		}
	}
	list := e.must(200, "GET", "/api/v1/tenants", e.admin, nil)
	if n := len(list.body["items"].([]any)); n != 0 {
		t.Fatalf("bad requests created %d tenants", n)
	}
}

func TestEveryMutatingRequestWritesOneAuditRow(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, bob := e.twoTenants()
	steps := []struct {
		method, path, token string
		body                any
		result              string
	}{
		{"PATCH", "/api/v1/tenants/a", alice, map[string]any{"displayName": "A"}, "ok"},
		{"PATCH", "/api/v1/tenants/a", bob, map[string]any{"displayName": "B"}, "denied"},
		{"POST", "/api/v1/tenants", bob, map[string]any{"name": "z"}, "denied"},
		{"PUT", "/api/v1/tenants/a/members/bob", alice, map[string]any{"role": "viewer"}, "ok"},
		{"POST", "/api/v1/tenants", e.admin, map[string]any{"name": "a"}, "invalid"},
	}
	for _, s := range steps {
		before := e.must(200, "GET", "/api/v1/audit?limit=1", e.admin, nil)
		e.do(s.method, s.path, s.token, s.body)
		after := e.must(200, "GET", "/api/v1/audit?limit=2", e.admin, nil)
		items := after.body["items"].([]any)
		last := items[0].(map[string]any)
		prevID := before.body["items"].([]any)[0].(map[string]any)["id"].(float64)
		if last["id"].(float64) != prevID+1 {
			t.Errorf("%s %s: audit id %v after %v, want exactly one new row", s.method, s.path, last["id"], prevID)
		}
		if last["result"] != s.result {
			t.Errorf("%s %s: audit result %v, want %s", s.method, s.path, last["result"], s.result)
		}
	}
	v := e.must(200, "GET", "/api/v1/audit/verify", e.admin, nil)
	if v.body["ok"] != true {
		t.Fatalf("verify = %s", v.raw)
	}
}

func TestAuditVerifyReportsATamperedRow(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.twoTenants()
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	tamper(t, filepath.Join(e.dir, DBFile), "DROP TRIGGER audit_no_update; UPDATE audit SET result = 'denied' WHERE id = 3")
	e2 := restart(t, e.dir)
	v := e2.must(200, "GET", "/api/v1/audit/verify", e2.admin, nil)
	if v.body["ok"] != false || v.body["brokenAt"] != float64(3) {
		t.Fatalf("verify after tampering row 3 = %s", v.raw)
	}
}

// serve starts a server on dir, as restart does, with wrap (when not nil)
// around its handler: tests and benchmarks hook requests with it. Any setup
// failure fails tb.
func serve(tb testing.TB, dir string, wrap func(http.Handler) http.Handler) *env {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if wrap != nil {
		srv.http.Handler = wrap(srv.http.Handler)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	tb.Cleanup(func() { _ = stop() })
	tok, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		tb.Fatal(err)
	}
	return &env{t: tb, url: "http://" + srv.Addr(), admin: strings.TrimSpace(string(tok)), dir: dir, srv: srv, stop: stop}
}

// TestGracefulShutdownFinishesAHeldRequestAndRefusesNewConnections holds a
// request inside the handler across the shutdown: the server must stop
// accepting at once, wait for that request, answer it 200 from the still
// open store, and only then return and close the database.
func TestGracefulShutdownFinishesAHeldRequestAndRefusesNewConnections(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var enterOnce sync.Once
	hold := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Test-Hold") != "" {
				enterOnce.Do(func() { close(entered) })
				<-release
			}
			next.ServeHTTP(w, r)
		})
	}
	e := serve(t, t.TempDir(), hold)
	alice := e.user("alice")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var released sync.Once
	releaseHeld := func() { released.Do(func() { close(release) }) }
	defer releaseHeld()

	type result struct {
		status int
		body   string
		err    error
	}
	held := make(chan result, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+alice)
		req.Header.Set("X-Test-Hold", "1")
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			held <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		held <- result{status: resp.StatusCode, body: string(b), err: err}
	}()
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("the held request never reached the handler")
	}

	stopped := make(chan error, 1)
	go func() { stopped <- e.stop() }()

	// Shutdown closes the listener first: poll until a new connection is refused.
	addr := strings.TrimPrefix(e.url, "http://")
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		switch {
		case err == nil:
			c.Close()
		case !errors.Is(err, syscall.ECONNRESET): // reset: queued as the listener closed
			t.Fatalf("dial during shutdown: %v, want connection refused", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the server still accepts connections after shutdown began")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if resp, err := http.Get(e.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a new request during shutdown got %d, want its connection refused", resp.StatusCode)
	}
	select {
	case err := <-stopped:
		t.Fatalf("shutdown returned (%v) while a request was still in flight", err)
	case r := <-held:
		t.Fatalf("the held request ended before it was released: %+v", r)
	default:
	}

	releaseHeld()
	select {
	case r := <-held:
		if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"alice"`) {
			t.Fatalf("held request across shutdown: status %d err %v body %s; want 200 for alice", r.status, r.err, r.body)
		}
	case <-ctx.Done():
		t.Fatal("the held request did not finish after it was released")
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("shutdown did not return after the last request finished")
	}
	// The database was closed cleanly: no WAL left behind.
	if _, err := os.Stat(filepath.Join(e.dir, DBFile+"-wal")); err == nil {
		t.Error("WAL file left after a clean shutdown")
	}
}

func TestOpenAPIDocumentIs31AndPublicEndpointsServe(t *testing.T) {
	t.Parallel()
	e := start(t)
	doc := e.must(200, "GET", "/api/v1/openapi.json", "", nil)
	if doc.body["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", doc.body["openapi"])
	}
	for _, p := range []string{"/api/v1/tenants", "/api/v1/tenants/{tenant}/members/{user}", "/api/v1/audit/verify", "/api/v1/tokens/{id}"} {
		if !strings.Contains(doc.raw, `"`+p+`"`) {
			t.Errorf("openapi lacks %s", p)
		}
	}
	e.must(200, "GET", "/healthz", "", nil)
	e.must(200, "GET", "/readyz", "", nil)
	m := e.must(200, "GET", "/metrics", "", nil)
	if !strings.Contains(m.raw, "ferry_http_requests_total") {
		t.Error("metrics lack ferry_http_requests_total")
	}
}

func TestAdminTokenFileIsPrivateAndWrittenOnce(t *testing.T) {
	t.Parallel()
	e := start(t)
	fi, err := os.Stat(filepath.Join(e.dir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.token mode %v, want 0600", fi.Mode().Perm())
	}
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	e2 := restart(t, e.dir)
	if e2.admin != e.admin {
		t.Error("restart replaced the admin token")
	}
	e2.must(200, "GET", "/api/v1/whoami", e.admin, nil)
}

func TestBackupWhileServingRestoresEveryRow(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.twoTenants()
	stopWrites := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopWrites:
				return
			default:
				e.do("POST", "/api/v1/tokens", e.admin, map[string]any{"name": "load"})
			}
		}
	}()
	to := filepath.Join(t.TempDir(), "backup.db")
	if err := Backup(t.Context(), e.dir, to); err != nil {
		t.Fatal(err)
	}
	close(stopWrites)
	wg.Wait()
	restoredDir := t.TempDir()
	data, _ := os.ReadFile(to)
	_ = os.WriteFile(filepath.Join(restoredDir, DBFile), data, 0o600)
	_ = os.WriteFile(filepath.Join(restoredDir, AdminTokenFile), []byte(e.admin), 0o600)
	r := restart(t, restoredDir)
	for _, name := range []string{"a", "b"} {
		r.must(200, "GET", "/api/v1/tenants/"+name, e.admin, nil)
	}
	v := r.must(200, "GET", "/api/v1/audit/verify", e.admin, nil)
	if v.body["ok"] != true {
		t.Errorf("restored audit chain: %s", v.raw)
	}
}

// TestExternalURLIsWhereSchemaLinksPoint: --external-url, not the Host
// header, makes the answers' $schema links.
func TestExternalURLIsWhereSchemaLinksPoint(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	srv, err := New(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", Kube: "off", ExternalURL: "https://ferry.example",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	tok, _ := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	req, _ := http.NewRequest("GET", "http://"+srv.Addr()+"/api/v1/whoami", nil)
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(raw), `"$schema":"https://ferry.example/api/v1/schemas/Whoami.json"`) || strings.Contains(string(raw), "evil") {
		t.Errorf("whoami = %s", raw)
	}
}

func TestTheGatewaysAccountReadsRoutesAndNothingElse(t *testing.T) {
	t.Parallel()
	e := start(t)
	b, err := os.ReadFile(filepath.Join(e.dir, GatewayTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(e.dir, GatewayTokenFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("gateway.token mode %v, want 0600", fi.Mode().Perm())
	}
	gw := strings.TrimSpace(string(b))
	if gw == "" || gw == e.admin {
		t.Fatalf("the gateway's token is empty or the admin's: %q", gw)
	}
	e.must(200, "GET", "/api/v1/serving/routes", gw, nil)
	e.must(204, "POST", "/api/v1/serving/report", gw, map[string]any{"gateway": "g1", "periodMs": 1000, "revisions": []any{}})
	if a := e.must(200, "GET", "/api/v1/tenants", gw, nil); !strings.Contains(a.raw, `"items":[]`) {
		t.Errorf("the gateway's account sees tenants: %s", a.raw)
	}
	e.must(403, "POST", "/api/v1/tenants", gw, map[string]any{"name": "grab"})
	e.must(403, "POST", "/api/v1/users", gw, map[string]any{"name": "someone"})
	e.must(422, "POST", "/api/v1/users", e.admin, map[string]any{"name": "ferry-gateway"})
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(e.dir, GatewayTokenFile))
	restart(t, e.dir).must(200, "GET", "/api/v1/serving/routes", strings.TrimSpace(string(again)), nil)
	if string(again) != string(b) {
		t.Error("restart replaced the gateway's token")
	}
}

func TestAGatewayAccountWhoseTokenFerryNoLongerHoldsIsRekeyed(t *testing.T) {
	t.Parallel()
	e := start(t)
	// A token of the account that someone else holds (as when an admin
	// made the user before the name was reserved, and minted one).
	var foreign string
	if err := e.srv.Store().Write(t.Context(), func(tx *store.Tx) error {
		u, err := tx.UserByName(t.Context(), v1.GatewayUser)
		if err != nil {
			return err
		}
		_, foreign, err = tx.CreateToken(t.Context(), u.ID, "someone's", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.must(200, "GET", "/api/v1/serving/routes", foreign, nil)
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	// The token file gone: a restored data directory, or a user ferry did not make.
	if err := os.Remove(filepath.Join(e.dir, GatewayTokenFile)); err != nil {
		t.Fatal(err)
	}
	e2 := restart(t, e.dir)
	b, err := os.ReadFile(filepath.Join(e.dir, GatewayTokenFile))
	if err != nil {
		t.Fatalf("the restart wrote no gateway token: %v", err)
	}
	e2.must(200, "GET", "/api/v1/serving/routes", strings.TrimSpace(string(b)), nil)
	e2.must(401, "GET", "/api/v1/serving/routes", foreign, nil)
}
