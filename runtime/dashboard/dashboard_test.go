package dashboard

import (
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/ferry-ml/ferry/store"
)

// TestEmbeddedBuildIsComplete: the committed build's index.html names only
// files that are embedded, so a binary built without npm serves a working page.
func TestEmbeddedBuildIsComplete(t *testing.T) {
	files := Assets()
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		t.Fatalf("no index.html in the embedded build (make web): %v", err)
	}
	refs := regexp.MustCompile(`(?:src|href)="/([^"]+)"`).FindAllStringSubmatch(string(index), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html names %d assets, want the script and the stylesheet at least:\n%s", len(refs), index)
	}
	for _, m := range refs {
		if _, err := fs.Stat(files, m[1]); err != nil {
			t.Errorf("index.html names %s, which is not embedded: %v", m[1], err)
		}
	}
}

func TestAssetsCacheHeadersAndSPAFallback(t *testing.T) {
	files := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><script src=\"/assets/app-1.js\"></script>")},
		"assets/app-1.js":    {Data: []byte("console.log(1)")},
		"favicon.svg":        {Data: []byte("<svg/>")},
		"assets/sub/x-2.css": {Data: []byte("a{}")},
	}
	h, err := New(Config{DB: &store.DB{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Files: files})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path string
		status       int
		cache, body  string
	}{
		{"GET", "/", 200, "no-cache", "<!doctype"},
		{"GET", "/tenants/acme/jobs/train", 200, "no-cache", "<!doctype"},
		{"GET", "/assets/app-1.js", 200, "public, max-age=31536000, immutable", "console"},
		{"GET", "/favicon.svg", 200, "no-cache", "<svg"},
		{"GET", "/assets/gone-9.js", 404, "", ""},
		{"GET", "/robots.txt", 404, "", ""},
		{"GET", "/../../etc/passwd", 200, "no-cache", "<!doctype"},
		{"POST", "/", 405, "", ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		if got := rec.Header().Get("Cache-Control"); got != c.cache {
			t.Errorf("%s: Cache-Control %q, want %q", c.path, got, c.cache)
		}
		if rec.Header().Get("Content-Security-Policy") != CSP || rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q, X-Frame-Options %q", c.path, rec.Header().Get("Content-Security-Policy"), rec.Header().Get("X-Frame-Options"))
		}
		if b := rec.Body.String(); len(b) < len(c.body) || b[:len(c.body)] != c.body {
			t.Errorf("%s: body %q, want it to start with %q", c.path, b, c.body)
		}
	}
}

func TestGateNeedsTheCSRFHeaderAndKeepsABearer(t *testing.T) {
	var got string
	g := Gate(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Get("Authorization") }))
	for _, c := range []struct {
		name, auth string
		cookie     bool
		csrf       string
		want       string
	}{
		{"cookie and header", "", true, "1", "Bearer ferry_secret"},
		{"cookie alone (a cross-site form)", "", true, "", ""},
		{"cookie with a wrong header value", "", true, "yes", ""},
		{"an explicit bearer wins", "Bearer ferry_other", true, "1", "Bearer ferry_other"},
		{"header without cookie", "", false, "1", ""},
	} {
		r := httptest.NewRequest("GET", "/api/v1/whoami", nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		if c.cookie {
			r.AddCookie(&http.Cookie{Name: "ferry_ui", Value: "ferry_secret"})
		}
		if c.csrf != "" {
			r.Header.Set("X-Ferry-UI", c.csrf)
		}
		g.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s: Authorization %q, want %q", c.name, got, c.want)
		}
	}
}

func TestLocalPathRefusesOtherHosts(t *testing.T) {
	for in, want := range map[string]string{
		"/tenants/a/jobs": "/tenants/a/jobs", "": "/", "//evil.example": "/", "https://evil.example": "/", "/\\evil": "/", "/a\r\nSet-Cookie: x": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
