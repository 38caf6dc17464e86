//go:build e2e

package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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
		testLiveLog(t, c)
	})

	t.Run("a running pipeline's step boxes go pending, running, succeeded in its page in Chromium, and a rerun's are marked cached", func(t *testing.T) {
		testLivePipeline(t, c)
	})
}

// testLiveLog runs the dashboard's browser test of a followed job log
// (web/e2e/live-log.test.mjs) against this cluster: a job in tenant ml
// (made by the jobs test) prints a line every half second, and its page
// shows the first lines while it runs and later ones without a reload.
func testLiveLog(t *testing.T, c *cluster) {
	browserTest(t, c, "web/e2e/live-log.test.mjs", "dashboard-live", 8*time.Minute, "FERRY_E2E_TENANT=ml", "FERRY_E2E_IMAGE="+workloadTag(t))
}

// workloadTag is the workload image's tag, which the jobs test loaded into the nodes.
func workloadTag(t *testing.T) string {
	t.Helper()
	tag, err := exec.Command(ferryBin, "workload-image", "tag").Output()
	if err != nil {
		t.Fatalf("workload-image tag: %v", err)
	}
	return strings.TrimSpace(string(tag))
}

// livePipelineSpec is a chain of three steps, each sleeping 8 s (longer
// than the page's 2 s poll, so that each is seen running); first hands
// second a parameter. nonce keeps a first run from being a cache hit of an
// earlier test's run on the same cluster.
const livePipelineSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
parameters:
  - {name: nonce, type: string}
steps:
  - name: first
    image: IMAGE
    resources: {cpu: 100m, memory: 128Mi}
    env: {NONCE: "{{params.nonce}}"}
    command: [sh, -c, "echo first $NONCE; sleep 8; printf ok > /ferry/outputs/parameters/word"]
    outputs: {parameters: [word]}
  - name: second
    image: IMAGE
    resources: {cpu: 100m, memory: 128Mi}
    env: {NONCE: "{{params.nonce}}", WORD: "{{steps.first.outputs.parameters.word}}"}
    command: [sh, -c, "echo second $NONCE $WORD; sleep 8"]
  - name: third
    image: IMAGE
    resources: {cpu: 100m, memory: 128Mi}
    dependsOn: [second]
    env: {NONCE: "{{params.nonce}}"}
    command: [sh, -c, "echo third $NONCE; sleep 8"]
`

// testLivePipeline creates the pipeline livePipelineSpec in tenant ml
// (made by the jobs test, which loaded the workload image) and runs the
// dashboard's browser test of live step states
// (web/e2e/live-pipeline.test.mjs) on it: once Chromium is up it submits a
// run and opens its page, where the step boxes go pending, running,
// succeeded without a reload, and a second run from the pipeline's page is
// drawn all cached. (The browser test submits the run, not this code:
// Chromium's start on a loaded 2-core machine can outlast a step.)
func testLivePipeline(t *testing.T, c *cluster) {
	spec := filepath.Join(t.TempDir(), "live.yaml")
	if err := os.WriteFile(spec, []byte(strings.ReplaceAll(livePipelineSpec, "IMAGE", workloadTag(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := c.ferry(t, time.Minute, "pipeline", "create", "live", "-f", spec, "--tenant", "ml"); err != nil {
		t.Fatalf("pipeline create live: %v\n%s", err, out)
	}
	browserTest(t, c, "web/e2e/live-pipeline.test.mjs", "dashboard-live-pipeline", 15*time.Minute,
		"FERRY_E2E_TENANT=ml", "FERRY_E2E_PIPELINE=live", "FERRY_E2E_PIPELINE_STEPS=first,second,third",
		"FERRY_E2E_PIPELINE_PARAMS=nonce="+strconv.FormatInt(time.Now().UnixNano(), 36))
}

var tapPassedOne = regexp.MustCompile(`(?m)^# pass 1$`)

// browserTest runs one of the dashboard's browser tests (a node test file
// under web/e2e, one test) against this cluster as its admin, with env
// (KEY=VALUE) and its screenshots in e2e/artifacts/<artifacts>, and fails
// unless its one test passed (a skipped test does not).
func browserTest(t *testing.T, c *cluster, file, artifacts string, timeout time.Duration, env ...string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed for the dashboard's browser tests (hack/setup-host.sh installs it)")
	}
	root, _ := filepath.Abs("..")
	if _, err := os.Stat(filepath.Join(root, "web/node_modules/playwright-core")); err != nil {
		t.Fatal("web/node_modules has no playwright-core: make web-deps installs it (make e2e runs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// TAP whatever node's default reporter (spec since Node 23) and whether stdout is a terminal.
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=tap", filepath.Join(root, file))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), append([]string{"FERRY_CONFIG=" + c.config, "FERRY_BIN=" + ferryBin,
		"DASHBOARD_ARTIFACTS=" + filepath.Join(root, "e2e/artifacts", artifacts)}, env...)...)
	cmd.WaitDelay = 10 * time.Second // Chromium, should it outlive a killed node, holds no pipe open past this
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node --test %s (%s):\n%s", file, time.Since(start).Round(100*time.Millisecond), out)
	if err != nil || !tapPassedOne.Match(out) {
		t.Fatalf("the browser test %s: %v (want 1 test passed)", file, err)
	}
}
