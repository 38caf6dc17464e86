package notebooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

type fakeBackend struct {
	mu      sync.Mutex
	target  *url.URL
	ready   bool
	started int
}

func (f *fakeBackend) Target(_ context.Context, tenant, name string) (*url.URL, bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tenant != "a" || name != "nb" {
		return nil, false, false, nil
	}
	return f.target, f.ready, true, nil
}

func (f *fakeBackend) Start(context.Context, string, string, func(*store.Tx) error) (store.Notebook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started++
	return store.Notebook{}, nil
}

// jupyter stands in for a notebook server: it reports the headers it got
// and evaluates "1+1" on a WebSocket, as a kernel channel would.
func jupyter(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/t/a/notebooks/nb/api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Saw-Authorization", r.Header.Get("Authorization"))
		w.Header().Set("X-Saw-Cookie", r.Header.Get("Cookie"))
		_, _ = w.Write([]byte(`{"version": "6.4.12"}`))
	})
	mux.HandleFunc("/t/a/notebooks/nb/api/kernels/k1/channels", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			reply := "?"
			if string(msg) == "1+1" {
				reply = "2"
			}
			if err := c.Write(r.Context(), websocket.MessageText, []byte(reply)); err != nil {
				return
			}
		}
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestProxyAuthenticatesProxiesHTTPAndWebSocketAndTracksActivity(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tokens := map[string]string{}
	err = db.Write(ctx, func(tx *store.Tx) error {
		for _, tn := range []string{"a", "b"} {
			if _, err := tx.CreateTenant(ctx, store.Tenant{Name: tn, DisplayName: tn, Quota: store.Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
				return err
			}
		}
		if _, err := tx.CreateNotebook(ctx, store.Notebook{Tenant: "a", Name: "nb", Image: "i", Resources: store.Resources{CPU: "1", Memory: "1Gi"}, Workspace: "1Gi"}); err != nil {
			return err
		}
		for user, m := range map[string][2]string{"alice": {"a", "editor"}, "vic": {"a", "viewer"}, "bob": {"b", "owner"}} {
			u, err := tx.CreateUser(ctx, user, false)
			if err != nil {
				return err
			}
			_, secret, err := tx.CreateToken(ctx, u.ID, "t", 0)
			if err != nil {
				return err
			}
			tokens[user] = secret
			if err := tx.PutMember(ctx, m[0], u.ID, store.Role(m[1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	nb := jupyter(t)
	target, _ := url.Parse(nb.URL)
	be := &fakeBackend{target: target, ready: true}
	p := &Proxy{DB: db, Authn: &auth.Authenticator{DB: db}, Backend: be}
	front := httptest.NewServer(p)
	defer front.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, token string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", front.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
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
	for _, c := range []struct {
		who, path string
		want      int
	}{
		{"", "/t/a/notebooks/nb/api", 401},
		{"bob", "/t/a/notebooks/nb/api", 404}, // another tenant's member: nothing there
		{"vic", "/t/a/notebooks/nb/api", 403}, // a viewer may not run code
		{"alice", "/t/a/notebooks/other/api", 404},
		{"alice", "/t/a/notebooks/nb/api", 200},
	} {
		if got := get(c.path, tokens[c.who]); got.StatusCode != c.want {
			t.Errorf("%s GET %s: %d, want %d", c.who, c.path, got.StatusCode, c.want)
		}
	}
	if resp := get("/t/a/notebooks/nb/api", tokens["alice"]); resp.Header.Get("X-Saw-Authorization") != "" {
		t.Error("the notebook saw the caller's ferry token")
	}
	// A browser: a one-time code becomes a path-scoped HttpOnly session cookie.
	cookie := redeem(t, front.URL, handover(t, db, tokens["alice"], "nb"))
	if resp := get("/t/a/notebooks/nb/api", "", cookie); resp.StatusCode != 200 || strings.Contains(resp.Header.Get("X-Saw-Cookie"), cookie.Value) {
		t.Errorf("with the cookie: %d, notebook saw %q", resp.StatusCode, resp.Header.Get("X-Saw-Cookie"))
	}

	// A kernel channel: the WebSocket upgrade goes through, and an open
	// connection counts as activity.
	wsURL := "ws" + strings.TrimPrefix(front.URL, "http") + "/t/a/notebooks/nb/api/kernels/k1/channels"
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tokens["alice"]}}})
	if err != nil {
		t.Fatalf("WebSocket through the proxy: %v", err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("1+1")); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.Read(ctx)
	if err != nil || string(msg) != "2" {
		t.Fatalf("kernel answer: %q %v", msg, err)
	}
	if last, open := p.LastActivity("a", "nb"); !open || time.Since(last) > time.Minute {
		t.Errorf("during a WebSocket: last %v, open %v", last, open)
	}
	c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, open := p.LastActivity("a", "nb"); !open {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed WebSocket still counts as open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tokens["bob"]}}}); err == nil {
		t.Error("another tenant's member opened a kernel channel")
	}

	// A stopped notebook is started on demand; the caller is asked to retry.
	be.mu.Lock()
	be.ready = false
	be.mu.Unlock()
	if resp := get("/t/a/notebooks/nb/api", tokens["alice"]); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || be.started != 1 {
		t.Errorf("stopped notebook: %d, started %d", resp.StatusCode, be.started)
	}
}
