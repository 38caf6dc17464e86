package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/runtime/dashboard"
)

// uiGet sends a request with optional cookie and CSRF header, not following redirects.
func uiGet(t *testing.T, method, url, cookie string, csrf bool) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "ferry_ui", Value: cookie})
	}
	if csrf {
		req.Header.Set("X-Ferry-UI", "1")
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDashboardLoginCodeBecomesCSRFSafeSessionCookie(t *testing.T) {
	e := start(t)
	alice := e.user("alice")
	h := e.must(201, "POST", "/api/v1/ui/session", alice, nil)
	link, _ := h.body["url"].(string)
	if !strings.HasPrefix(link, "/ui/login?code=fuh_") || strings.Contains(link, alice) {
		t.Fatalf("login url %q: want /ui/login?code=fuh_... without the token", link)
	}
	resp, _ := uiGet(t, "GET", e.url+link+"&next=/tenants/a/jobs", "", false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tenants/a/jobs" {
		t.Fatalf("login: %d to %q, want 303 to /tenants/a/jobs", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ferry_ui" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.MaxAge <= 0 || session.MaxAge > int(dashboard.SessionTTL.Seconds()) {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Max-Age within the session TTL", session)
	}
	if r, _ := uiGet(t, "GET", e.url+link, "", false); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second use of the code: %d, want 401", r.StatusCode)
	}
	if r, _ := uiGet(t, "GET", e.url+"/ui/login?code=fuh_nope", "", false); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown code: %d, want 401", r.StatusCode)
	}
	if r, _ := uiGet(t, "GET", e.url+"/api/v1/whoami", session.Value, false); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("cookie without the CSRF header: %d, want 401", r.StatusCode)
	}
	r, body := uiGet(t, "GET", e.url+"/api/v1/whoami", session.Value, true)
	if r.StatusCode != http.StatusOK || !strings.Contains(body, `"alice"`) {
		t.Fatalf("cookie with the CSRF header: %d %s, want alice", r.StatusCode, body)
	}
	if r, _ := uiGet(t, "GET", e.url+"/mlflow/a/api/2.0/mlflow/experiments/search", session.Value, true); r.StatusCode == http.StatusUnauthorized {
		t.Fatalf("the session does not reach /mlflow/: %d", r.StatusCode)
	}
	if r, _ := uiGet(t, "POST", e.url+"/ui/logout", session.Value, false); r.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without the CSRF header: %d, want 403", r.StatusCode)
	}
	if r, _ := uiGet(t, "POST", e.url+"/ui/logout", session.Value, true); r.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d, want 204", r.StatusCode)
	}
	if r, _ := uiGet(t, "GET", e.url+"/api/v1/whoami", session.Value, true); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %d, want 401", r.StatusCode)
	}
	audit := e.must(200, "GET", "/api/v1/audit?limit=50", e.admin, nil)
	actions := map[string]bool{}
	for _, it := range audit.body["items"].([]any) {
		actions[it.(map[string]any)["action"].(string)] = true
	}
	for _, a := range []string{"createUISession", "redeemUISession", "revokeUISession"} {
		if !actions[a] {
			t.Errorf("no audit row %s in %v", a, actions)
		}
	}
}

func TestDashboardServesSPAWithCSPAndOpenRedirectRefused(t *testing.T) {
	e := start(t)
	for _, p := range []string{"/", "/tenants/acme/jobs/train", "/tenants/acme/compare?runs=a,b"} {
		r, body := uiGet(t, "GET", e.url+p, "", false)
		if r.StatusCode != 200 || !strings.Contains(body, "<") || !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self'") ||
			r.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("GET %s: %d csp=%q cache=%q", p, r.StatusCode, r.Header.Get("Content-Security-Policy"), r.Header.Get("Cache-Control"))
		}
	}
	if r, _ := uiGet(t, "GET", e.url+"/assets/nope-123.js", "", false); r.StatusCode != 404 {
		t.Fatalf("missing asset: %d, want 404", r.StatusCode)
	}
	if r, body := uiGet(t, "GET", e.url+"/api/v1/nope", "", false); r.StatusCode != 404 || !strings.Contains(body, "no such route") {
		t.Fatalf("unknown API path fell through to the dashboard: %d %s", r.StatusCode, body)
	}
	if r, _ := uiGet(t, "GET", e.url+"/healthz", "", false); r.StatusCode != 200 {
		t.Fatalf("healthz: %d", r.StatusCode)
	}
	alice := e.user("alice")
	link := e.must(201, "POST", "/api/v1/ui/session", alice, nil).body["url"].(string)
	if r, _ := uiGet(t, "GET", e.url+link+"&next=//evil.example/x", "", false); r.Header.Get("Location") != "/" {
		t.Fatalf("next=//evil.example redirected to %q, want /", r.Header.Get("Location"))
	}
}
