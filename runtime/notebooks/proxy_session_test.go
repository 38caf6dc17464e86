package notebooks

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

// handover makes a one-time code for the token's user, as the API does.
func handover(t *testing.T, db *store.DB, token, nb string) string {
	t.Helper()
	var code string
	err := db.Write(t.Context(), func(tx *store.Tx) error {
		u, err := tx.Authenticate(t.Context(), token)
		if err != nil {
			return err
		}
		code, _, err = tx.CreateNotebookHandover(t.Context(), "a", nb, u.ID, token, time.Minute)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// redeem opens the hand-over URL as a browser would and returns the cookie.
func redeem(t *testing.T, front, code string) *http.Cookie {
	t.Helper()
	resp, err := noRedirect.Get(front + "/t/a/notebooks/nb/tree?x=1&" + v1.NotebookHandoverParam + "=" + url.QueryEscape(code))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/t/a/notebooks/nb/tree?x=1" {
		t.Fatalf("hand-over: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cs := resp.Cookies()
	if len(cs) != 1 {
		t.Fatalf("hand-over set %d cookies", len(cs))
	}
	c := cs[0]
	if c.Name != TokenCookie || !c.HttpOnly || c.Path != "/t/a/notebooks/nb/" || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie = %+v", c)
	}
	if !strings.HasPrefix(c.Value, v1.NotebookSessionPrefix) {
		t.Errorf("cookie value %q is not a notebook session", c.Value)
	}
	return c
}

type sessionFixture struct {
	db     *store.DB
	p      *Proxy
	front  *httptest.Server
	token  string // alice's, an editor of a
	userID int64
	tokID  string
}

func newSessionFixture(t *testing.T, upstream http.HandlerFunc) *sessionFixture {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &sessionFixture{db: db}
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
			return err
		}
		for _, nb := range []string{"nb", "other"} {
			if _, err := tx.CreateNotebook(ctx, store.Notebook{Tenant: "a", Name: nb, Image: "i", Resources: store.Resources{CPU: "1", Memory: "1Gi"}, Workspace: "1Gi"}); err != nil {
				return err
			}
		}
		u, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		f.userID = u.ID
		tok, secret, err := tx.CreateToken(ctx, u.ID, "t", 0)
		f.token, f.tokID = secret, tok.ID
		if err != nil {
			return err
		}
		return tx.PutMember(ctx, "a", u.ID, store.RoleEditor)
	})
	if err != nil {
		t.Fatal(err)
	}
	nb := httptest.NewServer(upstream)
	t.Cleanup(nb.Close)
	target, _ := url.Parse(nb.URL)
	f.p = &Proxy{DB: db, Authn: &auth.Authenticator{DB: db}, Backend: &anyBackend{target: target}}
	f.front = httptest.NewServer(f.p)
	t.Cleanup(f.front.Close)
	return f
}

// anyBackend serves every notebook of tenant a from one target.
type anyBackend struct{ target *url.URL }

func (b *anyBackend) Target(_ context.Context, tenant, _ string) (*url.URL, bool, bool, error) {
	return b.target, true, tenant == "a", nil
}

func (b *anyBackend) Start(context.Context, string, string, func(*store.Tx) error) (store.Notebook, error) {
	return store.Notebook{}, nil
}

func (f *sessionFixture) get(t *testing.T, path string, header http.Header, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", f.front.URL+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestProxyHandsOverOnlyAValidOneTimeCodeForAScopedSession(t *testing.T) {
	t.Parallel()
	f := newSessionFixture(t, func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Saw-Cookie", r.Header.Get("Cookie")) })

	// The API token itself in the URL is refused, and sets no cookie.
	if resp := f.get(t, "/t/a/notebooks/nb/tree?token="+f.token, nil); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("?token=<API token>: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	// An invalid code: 401 and no cookie.
	for _, bad := range []string{"garbage", v1.NotebookHandoverPrefix + "unknown", ""} {
		if resp := f.get(t, "/t/a/notebooks/nb/tree?"+v1.NotebookHandoverParam+"="+bad, nil); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
			t.Errorf("code %q: %d, cookies %v", bad, resp.StatusCode, resp.Cookies())
		}
	}
	// A code for another notebook does not open this one.
	other := handover(t, f.db, f.token, "other")
	if resp := f.get(t, "/t/a/notebooks/nb/tree?"+v1.NotebookHandoverParam+"="+other, nil); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("another notebook's code: %d", resp.StatusCode)
	}

	code := handover(t, f.db, f.token, "nb")
	c := redeem(t, f.front.URL, code)
	if c.Value == f.token || c.Secure {
		t.Errorf("cookie = %+v: want a session secret, not Secure on plain http", c)
	}
	// Single use.
	if resp := f.get(t, "/t/a/notebooks/nb/tree?"+v1.NotebookHandoverParam+"="+code, nil); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("second use of a code: %d", resp.StatusCode)
	}
	resp := f.get(t, "/t/a/notebooks/nb/api", nil, c)
	if resp.StatusCode != 200 || strings.Contains(resp.Header.Get("X-Saw-Cookie"), "ferry_") {
		t.Errorf("with the session: %d, notebook saw %q", resp.StatusCode, resp.Header.Get("X-Saw-Cookie"))
	}
	// The session is this notebook's only, and is not an API token.
	if resp := f.get(t, "/t/a/notebooks/other/api", nil, c); resp.StatusCode != 401 {
		t.Errorf("session on another notebook: %d", resp.StatusCode)
	}
	if resp := f.get(t, "/t/a/notebooks/nb/api", http.Header{"Authorization": {"Bearer " + c.Value}}); resp.StatusCode != 401 {
		t.Errorf("session as a bearer token: %d", resp.StatusCode)
	}
	// An API token as the cookie (the old hand-over) is no session.
	if resp := f.get(t, "/t/a/notebooks/nb/api", nil, &http.Cookie{Name: TokenCookie, Value: f.token}); resp.StatusCode != 401 {
		t.Errorf("API token as the cookie: %d", resp.StatusCode)
	}
	// Revoking the token the session came from ends it.
	if err := f.db.Write(t.Context(), func(tx *store.Tx) error { return tx.RevokeToken(t.Context(), f.userID, f.tokID) }); err != nil {
		t.Fatal(err)
	}
	if resp := f.get(t, "/t/a/notebooks/nb/api", nil, c); resp.StatusCode != 401 {
		t.Errorf("session after its token was revoked: %d", resp.StatusCode)
	}
}

func TestProxyRedirectsAHandOverToAPathEvenForAnAbsoluteFormRequest(t *testing.T) {
	t.Parallel()
	f := newSessionFixture(t, func(http.ResponseWriter, *http.Request) {})
	conn, err := net.Dial("tcp", f.front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	code := handover(t, f.db, f.token, "nb")
	fmt.Fprintf(conn, "GET http://evil.example/t/a/notebooks/nb/tree?%s=%s HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", v1.NotebookHandoverParam, code)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/t/a/notebooks/nb/tree" {
		t.Errorf("absolute-form hand-over: %d, Location %q; want a path", resp.StatusCode, loc)
	}
}

func TestProxyStripsANotebooksFerryCookiesAndMarksCookiesSecureBehindHTTPS(t *testing.T) {
	t.Parallel()
	f := newSessionFixture(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Add("Set-Cookie", TokenCookie+"=fixated; Path=/")
		w.Header().Add("Set-Cookie", "FERRY_TOKEN=x; Path=/")
		w.Header().Add("Set-Cookie", "_xsrf=keep; Path=/")
	})
	resp := f.get(t, "/t/a/notebooks/nb/api", http.Header{"Authorization": {"Bearer " + f.token}})
	got := resp.Header.Values("Set-Cookie")
	if len(got) != 1 || !strings.HasPrefix(got[0], "_xsrf=keep") {
		t.Errorf("Set-Cookie from the notebook = %q, want only _xsrf", got)
	}

	secure := func(header http.Header) bool {
		t.Helper()
		req, _ := http.NewRequest("GET", f.front.URL+"/t/a/notebooks/nb/tree?"+v1.NotebookHandoverParam+"="+handover(t, f.db, f.token, "nb"), nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(resp.Cookies()) != 1 {
			t.Fatalf("hand-over: %d, %d cookies", resp.StatusCode, len(resp.Cookies()))
		}
		return resp.Cookies()[0].Secure
	}
	fwd := http.Header{"X-Forwarded-Proto": {"https"}}
	if secure(fwd) {
		t.Error("an untrusted X-Forwarded-Proto made the cookie Secure")
	}
	f.p.TrustForwardedProto = true
	if !secure(fwd) || secure(nil) {
		t.Error("a trusted X-Forwarded-Proto: https must make the cookie Secure, and only then")
	}
	f.p.TrustForwardedProto, f.p.ExternalHTTPS = false, true
	if !secure(nil) {
		t.Error("an https external URL must make the cookie Secure")
	}

	// Over TLS the cookie is Secure without configuration.
	ts := httptest.NewUnstartedServer(&Proxy{DB: f.db, Authn: f.p.Authn, Backend: f.p.Backend})
	ts.StartTLS()
	defer ts.Close()
	cl := ts.Client()
	cl.CheckRedirect = noRedirect.CheckRedirect
	cl.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	r2, err := cl.Get(ts.URL + "/t/a/notebooks/nb/tree?" + v1.NotebookHandoverParam + "=" + handover(t, f.db, f.token, "nb"))
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if cs := r2.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("over TLS: cookies %v", cs)
	}
}
