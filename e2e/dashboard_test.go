//go:build e2e

package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testDashboard: the platform in the cluster serves the embedded dashboard,
// and `ferry ui` hands the browser a session without putting the token in
// a URL. (The pages themselves are tested in Chromium by make web-test.)
func testDashboard(t *testing.T, c *cluster) {
	out, err := c.ferry(t, time.Minute, "ui", "--no-open", "--path", "/tenants")
	if err != nil {
		t.Fatalf("ferry ui --no-open: %v\n%s", err, out)
	}
	link := strings.TrimSpace(out)
	if !strings.Contains(link, "/ui/login?code=fuh_") {
		t.Fatalf("ferry ui printed %q, want <server>/ui/login?code=fuh_...", link)
	}
	server, _, _ := strings.Cut(link, "/ui/login")
	noRedirect := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, url, cookie string, csrf bool) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "ferry_ui", Value: cookie})
		}
		if csrf {
			req.Header.Set("X-Ferry-UI", "1")
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("GET", server+"/tenants/anything/jobs", "", false)
	if resp.StatusCode != 200 || !strings.Contains(body, `<div id="app">`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET a dashboard page: %d CSP %q\n%.300s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), body)
	}
	resp, _ = get("GET", link, "", false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tenants" {
		t.Fatalf("login link: %d to %q, want 303 to /tenants", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session string
	for _, ck := range resp.Cookies() {
		if ck.Name == "ferry_ui" && ck.HttpOnly && ck.SameSite == http.SameSiteStrictMode {
			session = ck.Value
		}
	}
	if session == "" {
		t.Fatalf("login link set no HttpOnly SameSite=Strict ferry_ui cookie: %v", resp.Header.Values("Set-Cookie"))
	}
	if r, _ := get("GET", link, "", false); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the login link works twice: %d", r.StatusCode)
	}
	if r, _ := get("GET", server+"/api/v1/whoami", session, false); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the cookie without X-Ferry-UI authenticated: %d", r.StatusCode)
	}
	if r, b := get("GET", server+"/api/v1/whoami", session, true); r.StatusCode != 200 || !strings.Contains(b, `"name"`) {
		t.Fatalf("the session did not reach the API: %d %s", r.StatusCode, b)
	}

	t.Run("a running job's log streams into its page in Chromium", func(t *testing.T) {
		notYetRun(t)
		testLiveLog(t, c)
	})
}

// testLiveLog runs the dashboard's browser test of a followed job log
// (web/e2e/live-log.test.mjs) against this cluster: a job in tenant ml
// (made by the jobs test) prints a line every half second, and its page
// shows the first lines while it runs and later ones without a reload.
func testLiveLog(t *testing.T, c *cluster) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed for the dashboard's browser tests (hack/setup-host.sh installs it)")
	}
	tag, err := exec.Command(ferryBin, "workload-image", "tag").Output()
	if err != nil {
		t.Fatalf("workload-image tag: %v", err)
	}
	root, _ := filepath.Abs("..")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", filepath.Join(root, "web/e2e/live-log.test.mjs"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "FERRY_E2E_TENANT=ml", "FERRY_E2E_IMAGE="+strings.TrimSpace(string(tag)),
		"FERRY_CONFIG="+c.config, "FERRY_BIN="+ferryBin, "DASHBOARD_ARTIFACTS="+filepath.Join(root, "e2e/artifacts/dashboard-live"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test web/e2e/live-log.test.mjs:\n%s", out)
	if err != nil || !strings.Contains(string(out), "# pass 1") {
		t.Fatalf("the live log browser test: %v", err)
	}
}
