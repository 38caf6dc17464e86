package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferry-ml/ferry/store"
)

// apiEnv is the API on an httptest server over a real store, with one
// platform admin.
type apiEnv struct {
	t     *testing.T
	url   string
	db    *store.DB
	reg   *prometheus.Registry
	admin string
}

func newAPIEnv(t *testing.T, configure func(*Config)) *apiEnv {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &apiEnv{t: t, db: db, reg: prometheus.NewRegistry()}
	err = db.Write(t.Context(), func(tx *store.Tx) error {
		u, err := tx.CreateUser(t.Context(), "root", true)
		if err != nil {
			return err
		}
		_, e.admin, err = tx.CreateToken(t.Context(), u.ID, "t", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: e.reg}
	if configure != nil {
		configure(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

type reply struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (e *apiEnv) do(method, path, token string, body any) reply {
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
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
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
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (e *apiEnv) must(want int, method, path, token string, body any) reply {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %.500s", method, path, r.status, want, r.raw)
	}
	return r
}

// user creates a user and returns its first token.
func (e *apiEnv) user(name string) string {
	e.t.Helper()
	return e.must(201, "POST", "/api/v1/users", e.admin, map[string]any{"name": name}).body["token"].(string)
}

func (e *apiEnv) audit() []store.AuditEntry {
	e.t.Helper()
	var rows []store.AuditEntry
	err := e.db.Read(e.t.Context(), func(tx *store.Tx) (err error) {
		rows, err = tx.ListAudit(e.t.Context(), store.AuditFilter{Limit: 10000})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *apiEnv) metrics() string {
	e.t.Helper()
	return e.must(200, "GET", "/metrics", "", nil).raw
}

func TestAnonymousAndMalformedRequestsWriteNoAuditRowAndAreCounted(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	long := strings.Repeat("x", 1500)
	for _, c := range []struct{ method, path, token string }{
		{"DELETE", "/api/v1/tenants/" + long, ""},
		{"POST", "/api/v1/tenants/" + long + "/jobs", "ferry_forged"},
		{"PATCH", "/api/v1/tenants/a", "not-even-ferry"},
		{"POST", "/api/v1/tokens", ""},
	} {
		e.must(401, c.method, c.path, c.token, `{}`)
	}
	if rows := e.audit(); len(rows) != 0 {
		t.Errorf("unauthenticated requests wrote %d audit rows, first %+v", len(rows), rows[0])
	}
	m := e.metrics()
	for _, want := range []string{`ferry_http_unauthenticated_total{reason="missing"} 2`, `ferry_http_unauthenticated_total{reason="invalid"} 2`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// An authenticated failure is still audited, with its caller.
	e.must(404, "DELETE", "/api/v1/tenants/nope", e.admin, nil)
	if rows := e.audit(); len(rows) != 1 || rows[0].Actor != "root" || rows[0].Result != "denied" {
		t.Errorf("audit after an authenticated 404: %+v", rows)
	}
}

func TestOverLongPathsAreRefusedBeforeRouting(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	r := e.do("DELETE", "/api/v1/tenants/"+strings.Repeat("a", 3<<10), e.admin, nil)
	if r.status != http.StatusRequestURITooLong || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("3 KiB path: %d %s %.200s", r.status, r.header.Get("Content-Type"), r.raw)
	}
	r = e.do("GET", "/api/v1/tenants?after="+strings.Repeat("a", 3<<10), e.admin, nil)
	if r.status != http.StatusRequestURITooLong {
		t.Errorf("3 KiB query: %d %.200s", r.status, r.raw)
	}
	if rows := e.audit(); len(rows) != 0 {
		t.Errorf("refused paths wrote audit rows: %+v", rows)
	}
}

func TestMetricsLabelRouteTemplatesNotMadeUpPathsOrMethods(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	e.do("GET", "/api/v1/tenants/made-up-1", e.admin, nil)
	e.do("GET", "/api/v1/tenants/made-up-2/jobs/j", e.admin, nil)
	e.do("GET", "/no/such/route-zzz", e.admin, nil)
	e.do("GET", "/api/v1/no-such-route-yyy", e.admin, nil)
	e.do("BREW", "/api/v1/tenants", e.admin, nil)
	e.do("FROB", "/unknown-qqq", e.admin, nil)
	m := e.metrics()
	for _, leak := range []string{"made-up", "route-zzz", "route-yyy", "unknown-qqq", "BREW", "FROB"} {
		if strings.Contains(m, leak) {
			t.Errorf("metrics carry the made-up %q", leak)
		}
	}
	for _, want := range []string{`route="/api/v1/tenants/{tenant}"`, `route="/api/v1/tenants/{tenant}/jobs/{name}"`, `route="unmatched"`, `method="other"`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestRouterNotFoundAndMethodNotAllowedAreProblems(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	for _, c := range []struct {
		method, path string
		status       int
	}{{"GET", "/nope", 404}, {"GET", "/api/v1/nope", 404}, {"PUT", "/api/v1/whoami", 405}, {"BREW", "/api/v1/tenants", 405}} {
		r := e.do(c.method, c.path, e.admin, nil)
		if r.status != c.status || r.header.Get("Content-Type") != "application/problem+json" || r.body["status"] != float64(c.status) {
			t.Errorf("%s %s: %d %s %s", c.method, c.path, r.status, r.header.Get("Content-Type"), r.raw)
		}
	}
}

func TestErrorAnswersEchoAtMostABoundedPartOfTheRequest(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	big := strings.Repeat("y", 50<<10)
	for name, body := range map[string]string{
		"too long display name": `{"name":"a","displayName":"` + big + `"}`,
		"bad name":              `{"name":"` + big + `"}`,
		"unknown field":         `{"name":"a","` + big + `":1}`,
		"bad cpu":               `{"name":"a","quota":{"cpu":"` + big + `"}}`,
	} {
		r := e.do("POST", "/api/v1/tenants", e.admin, body)
		if r.status < 400 || r.status >= 500 {
			t.Errorf("%s: status %d", name, r.status)
		}
		if len(r.raw) > 4<<10 {
			t.Errorf("%s: %d-byte error answer echoes the request", name, len(r.raw))
		}
	}
}

func TestSchemaLinksUseTheConfiguredBaseURLNeverTheHostHeader(t *testing.T) {
	t.Parallel()
	get := func(e *apiEnv) reply {
		req, _ := http.NewRequest("GET", e.url+"/api/v1/whoami", nil)
		req.Host = "evil.example"
		req.Header.Set("X-Forwarded-Host", "evil2.example")
		req.Header.Set("Authorization", "Bearer "+e.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	}
	plain := get(newAPIEnv(t, nil))
	if plain.status != 200 || strings.Contains(plain.raw, "evil") || strings.Contains(plain.header.Get("Link"), "evil") {
		t.Errorf("without a base URL: %d Link=%q %s", plain.status, plain.header.Get("Link"), plain.raw)
	}
	based := get(newAPIEnv(t, func(c *Config) { c.BaseURL = "https://ferry.example/" }))
	if !strings.Contains(based.raw, `"$schema":"https://ferry.example/api/v1/schemas/Whoami.json"`) || strings.Contains(based.raw, "evil") {
		t.Errorf("with a base URL: %s", based.raw)
	}
	if _, err := New(Config{Store: &store.DB{}, Logger: slog.New(slog.DiscardHandler), BaseURL: "ferry.example"}); err == nil {
		t.Error("a base URL without a scheme was accepted")
	}
}

// tenant creates tenant name with owner and quota, and returns the owner's token.
func (e *apiEnv) tenant(name, owner string, quota map[string]any) string {
	e.t.Helper()
	tok := e.user(owner)
	e.must(201, "POST", "/api/v1/tenants", e.admin, map[string]any{"name": name, "owner": owner, "quota": quota})
	return tok
}

func TestReservedTenantAndUserNamesAreRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	for _, name := range []string{"system", "network", "gpu", "seed", "default", "kube-system", "kube-public"} {
		r := e.do("POST", "/api/v1/tenants", e.admin, map[string]any{"name": name})
		if r.status != 422 || !strings.Contains(r.raw, "body.name") || !strings.Contains(r.raw, "reserved") {
			t.Errorf("tenant %s: %d %s", name, r.status, r.raw)
		}
	}
	for _, name := range []string{"ferry-seed", "system", "anonymous"} {
		r := e.do("POST", "/api/v1/users", e.admin, map[string]any{"name": name})
		if r.status != 422 || !strings.Contains(r.raw, "body.name") || !strings.Contains(r.raw, "reserved") {
			t.Errorf("user %s: %d %s", name, r.status, r.raw)
		}
	}
	e.must(201, "POST", "/api/v1/tenants", e.admin, map[string]any{"name": "systems"})
	e.must(201, "POST", "/api/v1/users", e.admin, map[string]any{"name": "systemd"})
}

func TestResourceRequestsArePositiveAndBounded(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	owner := e.tenant("a", "alice", map[string]any{"cpu": "64", "memory": "256Gi", "gpu": 8})
	job := func(res map[string]any, replicas int) map[string]any {
		return map[string]any{"name": "j", "image": "busybox:1", "command": []string{"true"}, "resources": res, "replicas": replicas}
	}
	for _, c := range []struct {
		name     string
		res      map[string]any
		replicas int
		field    string
	}{
		{"zero cpu", map[string]any{"cpu": "0"}, 1, "body.resources.cpu"},
		{"zero memory", map[string]any{"memory": "0"}, 1, "body.resources.memory"},
		{"a micro cpu", map[string]any{"cpu": "1u"}, 1, "body.resources.cpu"},
		{"1e309 cpu", map[string]any{"cpu": "1e309"}, 1, "body.resources.cpu"},
		{"100000Ei memory", map[string]any{"memory": "100000Ei"}, 1, "body.resources.memory"},
		{"2000 cpu", map[string]any{"cpu": "2000"}, 1, "body.resources.cpu"},
		{"65 gpu", map[string]any{"gpu": 65}, 1, "body.resources.gpu"},
		{"65 replicas", map[string]any{}, 65, "body.replicas"},
	} {
		r := e.do("POST", "/api/v1/tenants/a/jobs", owner, job(c.res, c.replicas))
		if r.status != 422 || !strings.Contains(r.raw, c.field) {
			t.Errorf("job with %s: %d, want 422 naming %s: %.300s", c.name, r.status, c.field, r.raw)
		}
	}
	nb := func(res map[string]any, ws string) map[string]any {
		return map[string]any{"name": "nb", "image": "busybox:1", "resources": res, "workspace": ws}
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"zero cpu", nb(map[string]any{"cpu": "0"}, ""), "body.resources.cpu"},
		{"zero memory", nb(map[string]any{"memory": "0"}, ""), "body.resources.memory"},
		{"zero workspace", nb(nil, "0"), "body.workspace"},
		{"huge workspace", nb(nil, "100000Ei"), "body.workspace"},
		{"65 gpu", nb(map[string]any{"gpu": 65}, ""), "body.resources.gpu"},
	} {
		r := e.do("POST", "/api/v1/tenants/a/notebooks", owner, c.body)
		if r.status != 422 || !strings.Contains(r.raw, c.field) {
			t.Errorf("notebook with %s: %d, want 422 naming %s: %.300s", c.name, r.status, c.field, r.raw)
		}
	}
	for _, c := range []struct{ body, field string }{
		{`{"name":"q1","quota":{"cpu":"1e309"}}`, "body.quota.cpu"},
		{`{"name":"q2","quota":{"memory":"100000Ei"}}`, "body.quota.memory"},
		{`{"name":"q3","quota":{"gpu":100000}}`, "body.quota.gpu"},
	} {
		r := e.do("POST", "/api/v1/tenants", e.admin, c.body)
		if r.status != 422 || !strings.Contains(r.raw, c.field) {
			t.Errorf("tenant %s: %d, want 422 naming %s: %.300s", c.body, r.status, c.field, r.raw)
		}
	}
	e.must(201, "POST", "/api/v1/tenants/a/jobs", owner, job(map[string]any{"cpu": "1", "memory": "1Gi"}, 2))
	e.must(201, "POST", "/api/v1/tenants/a/notebooks", owner, nb(nil, "10Gi"))
}

func TestWorkLargerThanTheTenantsWholeQuotaIsRefusedAtSubmit(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	owner := e.tenant("a", "alice", map[string]any{"cpu": "8", "memory": "16Gi", "gpu": 2})
	for _, c := range []struct {
		res      map[string]any
		replicas int
		field    string
	}{
		{map[string]any{"cpu": "3"}, 3, "body.resources.cpu"},
		{map[string]any{"memory": "9Gi"}, 2, "body.resources.memory"},
		{map[string]any{"gpu": 1}, 3, "body.resources.gpu"},
	} {
		r := e.do("POST", "/api/v1/tenants/a/jobs", owner, map[string]any{"name": "big", "image": "busybox:1", "command": []string{"true"}, "resources": c.res, "replicas": c.replicas})
		if r.status != 422 || !strings.Contains(r.raw, c.field) || !strings.Contains(r.raw, "whole") {
			t.Errorf("job %v × %d: %d, want 422 naming %s: %.300s", c.res, c.replicas, r.status, c.field, r.raw)
		}
	}
	r := e.do("POST", "/api/v1/tenants/a/notebooks", owner, map[string]any{"name": "big", "image": "busybox:1", "resources": map[string]any{"gpu": 3}})
	if r.status != 422 || !strings.Contains(r.raw, "body.resources.gpu") {
		t.Errorf("notebook over the quota: %d %.300s", r.status, r.raw)
	}
	e.must(201, "POST", "/api/v1/tenants/a/jobs", owner, map[string]any{"name": "fits", "image": "busybox:1", "command": []string{"true"},
		"resources": map[string]any{"cpu": "4", "memory": "8Gi", "gpu": 1}, "replicas": 2})
}

func TestFerryEnvNamesAreReservedInJobs(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	owner := e.tenant("a", "alice", nil)
	for _, k := range []string{"FERRY_TOKEN", "ferry_api", "RANK"} {
		r := e.do("POST", "/api/v1/tenants/a/jobs", owner, map[string]any{"name": "j", "image": "busybox:1", "command": []string{"true"}, "env": map[string]string{k: "x"}})
		if r.status != 422 || !strings.Contains(r.raw, "body.env") {
			t.Errorf("env %s: %d %.300s", k, r.status, r.raw)
		}
	}
}

func TestDuplicateNamesAre409NamingTheFieldWithoutSQLite(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	owner := e.tenant("a", "alice", nil)
	job := map[string]any{"name": "j", "image": "busybox:1", "command": []string{"true"}}
	e.must(201, "POST", "/api/v1/tenants/a/jobs", owner, job)
	e.must(201, "POST", "/api/v1/tenants/a/notebooks", owner, map[string]any{"name": "nb", "image": "busybox:1"})
	for _, c := range []struct {
		path, token string
		body        any
	}{
		{"/api/v1/tenants", e.admin, map[string]any{"name": "a"}},
		{"/api/v1/users", e.admin, map[string]any{"name": "alice"}},
		{"/api/v1/tenants/a/jobs", owner, job},
		{"/api/v1/tenants/a/notebooks", owner, map[string]any{"name": "nb", "image": "busybox:1"}},
	} {
		r := e.do("POST", c.path, c.token, c.body)
		if r.status != 409 || !strings.Contains(r.raw, `"location":"body.name"`) || strings.Contains(r.raw, "UNIQUE") || strings.Contains(r.raw, "constraint") {
			t.Errorf("duplicate POST %s: %d %s", c.path, r.status, r.raw)
		}
	}
}

func TestTheLastOwnerCannotBeRemovedOrDemoted(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	alice := e.tenant("a", "alice", nil)
	e.user("bob")
	e.must(409, "DELETE", "/api/v1/tenants/a/members/alice", alice, nil)
	e.must(409, "PUT", "/api/v1/tenants/a/members/alice", alice, map[string]any{"role": "editor"})
	e.must(409, "DELETE", "/api/v1/tenants/a/members/alice", e.admin, nil)
	e.must(200, "PUT", "/api/v1/tenants/a/members/bob", alice, map[string]any{"role": "owner"})
	e.must(204, "DELETE", "/api/v1/tenants/a/members/alice", alice, nil)
	e.must(409, "PUT", "/api/v1/tenants/a/members/bob", e.admin, map[string]any{"role": "viewer"})
	members := e.must(200, "GET", "/api/v1/tenants/a/members", e.admin, nil)
	if items := members.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["role"] != "owner" {
		t.Errorf("members = %s", members.raw)
	}
}

func TestATokenMintedWithAnExpiringTokenExpiresNoLater(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	alice := e.user("alice")
	parent := e.must(201, "POST", "/api/v1/tokens", alice, map[string]any{"name": "ci", "expiresIn": "1h"})
	secret := parent.body["secret"].(string)
	limit := parent.body["expiresAt"].(string)
	for _, ttl := range []string{"", "8760h"} {
		child := e.must(201, "POST", "/api/v1/tokens", secret, map[string]any{"name": "child", "expiresIn": ttl})
		if got, _ := child.body["expiresAt"].(string); got != limit {
			t.Errorf("child of a 1h token with expiresIn %q expires %q, want %s", ttl, got, limit)
		}
	}
	short := e.must(201, "POST", "/api/v1/tokens", secret, map[string]any{"name": "short", "expiresIn": "1m"})
	if got, _ := short.body["expiresAt"].(string); got == "" || got >= limit {
		t.Errorf("a shorter child expires %q, want before %s", got, limit)
	}
	forever := e.must(201, "POST", "/api/v1/tokens", alice, map[string]any{"name": "forever"})
	if _, ok := forever.body["expiresAt"]; ok {
		t.Errorf("a child of a token without expiry got one: %s", forever.raw)
	}
}

func TestAdminsRevokeOthersTokensAndDisableUsersAtOnce(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	alice, bob := e.user("alice"), e.user("bob")
	extra := e.must(201, "POST", "/api/v1/tokens", alice, map[string]any{"name": "laptop"})
	list := e.must(200, "GET", "/api/v1/users/alice/tokens", e.admin, nil)
	if items := list.body["items"].([]any); len(items) != 2 || strings.Contains(list.raw, extra.body["secret"].(string)) {
		t.Fatalf("alice's tokens as the admin sees them: %s", list.raw)
	}
	id := extra.body["id"].(string)
	e.must(403, "GET", "/api/v1/users/alice/tokens", bob, nil)
	e.must(403, "DELETE", "/api/v1/users/alice/tokens/"+id, bob, nil)
	e.must(403, "POST", "/api/v1/users/alice/disable", bob, nil)
	e.must(404, "DELETE", "/api/v1/users/bob/tokens/"+id, e.admin, nil)
	e.must(404, "POST", "/api/v1/users/nobody/disable", e.admin, nil)
	e.must(200, "GET", "/api/v1/whoami", extra.body["secret"].(string), nil)
	e.must(204, "DELETE", "/api/v1/users/alice/tokens/"+id, e.admin, nil)
	e.must(401, "GET", "/api/v1/whoami", extra.body["secret"].(string), nil)

	e.must(200, "GET", "/api/v1/whoami", alice, nil)
	if d := e.must(200, "POST", "/api/v1/users/alice/disable", e.admin, nil); d.body["disabled"] != true {
		t.Errorf("disable answered %s", d.raw)
	}
	e.must(401, "GET", "/api/v1/whoami", alice, nil)
	e.must(401, "POST", "/api/v1/tokens", alice, map[string]any{"name": "sneaky"})
	e.must(409, "POST", "/api/v1/users/root/disable", e.admin, nil)
	if d := e.must(200, "POST", "/api/v1/users/alice/enable", e.admin, nil); d.body["disabled"] == true {
		t.Errorf("enable answered %s", d.raw)
	}
	e.must(200, "GET", "/api/v1/whoami", alice, nil)
	var actions []string
	for _, r := range e.audit() {
		if r.Actor == "root" && r.Result == "ok" && strings.HasPrefix(r.Target, "user/alice") {
			actions = append(actions, r.Action)
		}
	}
	if strings.Join(actions, ",") != "enableUser,disableUser,revokeUserToken,createUser" {
		t.Errorf("audited admin actions on alice (newest first): %v", actions)
	}
}

func TestFailedCancelStopStartDeleteAreFiledUnderTheTenantOfThePath(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	alice := e.tenant("a", "alice", nil)
	bob := e.tenant("b", "bob", nil)
	e.must(201, "POST", "/api/v1/tenants/a/jobs", alice, map[string]any{"name": "j", "image": "busybox:1", "command": []string{"true"}})
	e.must(201, "POST", "/api/v1/tenants/a/notebooks", alice, map[string]any{"name": "nb", "image": "busybox:1"})
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/v1/tenants/a/jobs/j/cancel"},
		{"POST", "/api/v1/tenants/a/notebooks/nb/stop"},
		{"POST", "/api/v1/tenants/a/notebooks/nb/start"},
		{"DELETE", "/api/v1/tenants/a/notebooks/nb"},
	} {
		e.must(404, c.method, c.path, bob, nil)
		rows := e.audit()
		if r := rows[0]; r.Actor != "bob" || r.Tenant != "a" || r.Result != "denied" || r.Target != c.path {
			t.Errorf("%s %s by bob: audit row %+v, want tenant a, denied", c.method, c.path, r)
		}
	}
	mine := e.must(200, "GET", "/api/v1/audit?tenant=b", bob, nil)
	if strings.Contains(mine.raw, "/tenants/a/") || strings.Contains(mine.raw, `"tenant":"a"`) {
		t.Errorf("bob's audit view of b shows his failed calls in a: %s", mine.raw)
	}
	theirs := e.must(200, "GET", "/api/v1/audit?tenant=a&actor=bob", alice, nil)
	if n := len(theirs.body["items"].([]any)); n != 4 {
		t.Errorf("alice sees %d of bob's failed calls in a, want 4: %s", n, theirs.raw)
	}
}
