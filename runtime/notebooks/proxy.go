package notebooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

// TokenCookie carries the caller's token for browser requests, scoped to
// one notebook's path; `ferry notebook open` hands it over once in ?token=.
const TokenCookie = v1.NotebookCookie

// Backend is what the proxy needs of the notebooks controller.
type Backend interface {
	// Target is where a running notebook answers; ok false when the
	// notebook does not exist.
	Target(ctx context.Context, tenant, name string) (u *url.URL, ready, ok bool, err error)
	// Start starts a stopped notebook (on demand).
	Start(ctx context.Context, tenant, name string, record func(*store.Tx) error) (store.Notebook, error)
}

// Proxy serves /t/{tenant}/notebooks/{name}/... to a tenant's editors and
// owners (and admins), HTTP and WebSocket alike, and records activity.
type Proxy struct {
	DB      *store.DB
	Authn   *auth.Authenticator
	Backend Backend
	Log     *slog.Logger
	// Transport reaches the notebooks (default http.DefaultTransport).
	Transport http.RoundTripper

	mu         sync.Mutex
	last       map[string]time.Time // tenant/name → last request
	open       map[string]int       // tenant/name → connections in flight (WebSockets included)
	proxies    map[string]*httputil.ReverseProxy
	nowForTest func() time.Time
}

func (p *Proxy) now() time.Time {
	if p.nowForTest != nil {
		return p.nowForTest()
	}
	return time.Now()
}

// parse splits /t/{tenant}/notebooks/{name}/rest.
func parse(path string) (tenant, name string, ok bool) {
	rest, ok := strings.CutPrefix(path, v1.NotebookProxyPrefix)
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) < 3 || parts[1] != "notebooks" || parts[0] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[2], true
}

func (p *Proxy) token(w http.ResponseWriter, r *http.Request, base string) (string, bool) {
	if t := r.URL.Query().Get("token"); t != "" {
		// Trade the URL token for a cookie and drop it from the address bar.
		http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: t, Path: base, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		q := r.URL.Query()
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return "", false
	}
	if s, ok := auth.BearerToken(r.Header); ok {
		return s, true
	}
	if c, err := r.Cookie(TokenCookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	http.Error(w, "ferry: not logged in: open this notebook with `ferry notebook open`, or send Authorization: Bearer <token>", http.StatusUnauthorized)
	return "", false
}

// authorize finds the caller and checks they may use the tenant's
// notebooks (editor or more); a caller without a role gets 404.
func (p *Proxy) authorize(ctx context.Context, secret, tenant string) (int, string) {
	var status int
	var msg string
	u, err := p.Authn.Token(ctx, secret)
	if auth.Unauthenticated(err) {
		return http.StatusUnauthorized, err.Error()
	}
	if err != nil {
		return http.StatusInternalServerError, "could not check the token"
	}
	err = p.DB.Read(ctx, func(tx *store.Tx) error {
		if u.Admin {
			return nil
		}
		role, err := tx.Role(ctx, u.ID, tenant)
		if errors.Is(err, store.ErrNotFound) {
			status, msg = http.StatusNotFound, "not found"
			return nil
		}
		if err != nil {
			return err
		}
		if !role.AtLeast(store.RoleEditor) {
			status, msg = http.StatusForbidden, "notebooks run code: editors and owners only"
		}
		return nil
	})
	if err != nil {
		return http.StatusInternalServerError, "could not check the token"
	}
	return status, msg
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant, name, ok := parse(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	base := BasePath(tenant, name)
	if r.URL.Path == strings.TrimSuffix(base, "/") {
		http.Redirect(w, r, base, http.StatusMovedPermanently)
		return
	}
	secret, ok := p.token(w, r, base)
	if !ok {
		return
	}
	if status, msg := p.authorize(r.Context(), secret, tenant); status != 0 {
		http.Error(w, "ferry: "+msg, status)
		return
	}
	target, ready, exists, err := p.Backend.Target(r.Context(), tenant, name)
	switch {
	case err != nil:
		http.Error(w, "ferry: "+err.Error(), http.StatusBadGateway)
		return
	case !exists:
		http.Error(w, "ferry: not found", http.StatusNotFound)
		return
	}
	key := tenant + "/" + name
	p.touch(key, +1)
	defer p.touch(key, -1)
	if !ready {
		if _, err := p.Backend.Start(r.Context(), tenant, name, nil); err != nil {
			http.Error(w, "ferry: start notebook: "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Retry-After", "2")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `<!doctype html><meta http-equiv="refresh" content="2"><p>ferry: notebook %s is starting; this page reloads.</p>`, name)
		return
	}
	// The notebook must not see the caller's ferry credentials.
	r.Header.Del("Authorization")
	removeCookie(r, TokenCookie)
	p.proxy(target).ServeHTTP(w, r)
}

func (p *Proxy) proxy(target *url.URL) *httputil.ReverseProxy {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proxies == nil {
		p.proxies = map[string]*httputil.ReverseProxy{}
	}
	if rp, ok := p.proxies[target.String()]; ok {
		return rp
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // Jupyter checks Origin against Host
			pr.SetXForwarded()
		},
		Transport:     p.Transport,
		FlushInterval: -1, // stream (kernel output, event streams)
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if p.Log != nil {
				p.Log.Warn("notebook proxy", "target", target.String(), "err", err)
			}
			http.Error(w, "ferry: the notebook does not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.proxies[target.String()] = rp
	return rp
}

func removeCookie(r *http.Request, name string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}

// touch records activity and counts open connections.
func (p *Proxy) touch(key string, delta int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last, p.open = map[string]time.Time{}, map[string]int{}
	}
	p.last[key] = p.now()
	p.open[key] += delta
	if p.open[key] <= 0 {
		delete(p.open, key)
	}
}

// LastActivity says when a notebook was last used through the proxy, and
// whether a connection (a kernel's WebSocket) is open right now.
func (p *Proxy) LastActivity(tenant, name string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := tenant + "/" + name
	return p.last[key], p.open[key] > 0
}
