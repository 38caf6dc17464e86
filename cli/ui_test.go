package cli

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestUIPrintsAOneTimeLoginLinkWithoutTheToken(t *testing.T) {
	p := startServerProc(t, t.TempDir(), freePort(t))
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if code, _, e := run(t, cfg, "login", "--server", p.url, "--token", p.admin); code != 0 {
		t.Fatal(e)
	}
	code, out, errOut := run(t, cfg, "ui", "--no-open", "--path", "/tenants/a/jobs")
	link := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(link, p.url+"/ui/login?code=fuh_") || strings.Contains(link, p.admin) {
		t.Fatalf("ferry ui: %d %q %s; want %s/ui/login?code=fuh_... without the token", code, link, errOut, p.url)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tenants/a/jobs" {
		t.Fatalf("the link: %d to %q, want 303 to /tenants/a/jobs", resp.StatusCode, resp.Header.Get("Location"))
	}
}
