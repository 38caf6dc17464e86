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

// TokenCookie carries a browser's notebook session: a random secret (not an
// API token) for one notebook's path, redeemed once from the one-time code
// that `ferry notebook open` puts in ?ferry_handover=.
const TokenCookie = v1.NotebookCookie

// DefaultSessionTTL is how long a notebook session lives without use.
const DefaultSessionTTL = 12 * time.Hour

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
	// SessionTTL is how long a browser session lives without use (default
	// DefaultSessionTTL); each use moves its expiry.
	SessionTTL time.Duration
	// ExternalHTTPS says the proxy is reached over https (a TLS-terminating
	// load balancer in front): session cookies are then Secure even on a
	// plain connection.
	ExternalHTTPS bool
	// TrustForwardedProto believes a request's X-Forwarded-Proto (set it only
	// behind a proxy that overwrites the header).
	TrustForwardedProto bool

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

// secure says whether the browser reached us over https.
func (p *Proxy) secure(r *http.Request) bool {
	if r.TLS != nil || p.ExternalHTTPS {
		return true
	}
	if p.TrustForwardedProto {
		proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		return strings.EqualFold(strings.TrimSpace(proto), "https")
	}
	return false
}

func (p *Proxy) sessionTTL() time.Duration {
	if p.SessionTTL > 0 {
		return p.SessionTTL
	}
	return DefaultSessionTTL
}

// handover redeems ?ferry_handover= once for a session cookie and redirects
// to the same path without it. It reports whether it answered the request.
func (p *Proxy) handover(w http.ResponseWriter, r *http.Request, tenant, name, base string) bool {
	q := r.URL.Query()
	if t := q.Get("token"); strings.HasPrefix(t, v1.TokenPrefix) {
		// The old hand-over: an API token does not belong in a URL.
		http.Error(w, "ferry: API tokens are not accepted in the URL: run `ferry notebook open` again for a one-time link", http.StatusUnauthorized)
		return true
	}
	if !q.Has(v1.NotebookHandoverParam) {
		return false
	}
	code := q.Get(v1.NotebookHandoverParam)
	var secret string
	err := errBadCode
	if strings.HasPrefix(code, v1.NotebookHandoverPrefix) && len(code) <= auth.MaxTokenLength {
		err = p.DB.Write(r.Context(), func(tx *store.Tx) (err error) {
			_, secret, err = tx.RedeemNotebookHandover(r.Context(), code, tenant, name, p.sessionTTL())
			return err
		})
	}
	switch {
	case errors.Is(err, errBadCode), errors.Is(err, store.ErrNotFound):
		http.Error(w, "ferry: this link is invalid, spent or expired: run `ferry notebook open` again", http.StatusUnauthorized)
		return true
	case err != nil:
		http.Error(w, "ferry: could not check the link", http.StatusInternalServerError)
		return true
	}
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: secret, Path: base, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: p.secure(r)})
	// Redirect to a path only: an absolute-form request line's host must not
	// choose where the browser goes.
	q.Del(v1.NotebookHandoverParam)
	loc := r.URL.EscapedPath()
	if len(q) > 0 {
		loc += "?" + q.Encode()
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusSeeOther)
	return true
}

var errBadCode = errors.New("not a hand-over code")

// caller authenticates a request: a bearer API token, or this notebook's
// session cookie. ok is false when it has answered the request.
func (p *Proxy) caller(w http.ResponseWriter, r *http.Request, tenant, name string) (store.User, bool) {
	if secret, ok := auth.BearerToken(r.Header); ok {
		u, err := p.Authn.Token(r.Context(), secret)
		if auth.Unauthenticated(err) {
			http.Error(w, "ferry: "+err.Error(), http.StatusUnauthorized)
			return store.User{}, false
		}
		if err != nil {
			http.Error(w, "ferry: could not check the token", http.StatusInternalServerError)
			return store.User{}, false
		}
		return u, true
	}
	c, err := r.Cookie(TokenCookie)
	if err != nil || c.Value == "" {
		http.Error(w, "ferry: not logged in: open this notebook with `ferry notebook open`, or send Authorization: Bearer <token>", http.StatusUnauthorized)
		return store.User{}, false
	}
	var s store.NotebookSession
	err = store.ErrNotFound
	if strings.HasPrefix(c.Value, v1.NotebookSessionPrefix) && len(c.Value) <= auth.MaxTokenLength {
		err = p.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
			s, err = tx.NotebookSessionFor(r.Context(), c.Value, tenant, name)
			return err
		})
	}
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "ferry: the notebook session is invalid, expired or revoked: run `ferry notebook open` again", http.StatusUnauthorized)
		return store.User{}, false
	}
	if err != nil {
		http.Error(w, "ferry: could not check the session", http.StatusInternalServerError)
		return store.User{}, false
	}
	// Sliding expiry, written at most every few minutes rather than per request.
	ttl := p.sessionTTL()
	if s.ExpiresAt.Sub(p.DB.Now()) < ttl-ttl/48 {
		if err := p.DB.Write(r.Context(), func(tx *store.Tx) error { return tx.RefreshNotebookSession(r.Context(), c.Value, ttl) }); err != nil && p.Log != nil {
			p.Log.Warn("refresh notebook session", "err", err)
		}
	}
	return s.User, true
}

// authorize checks the caller may use the tenant's notebooks (editor or
// more); a caller without a role gets 404.
func (p *Proxy) authorize(ctx context.Context, u store.User, tenant string) (int, string) {
	if u.Admin {
		return 0, ""
	}
	var status int
	var msg string
	err := p.DB.Read(ctx, func(tx *store.Tx) error {
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
		return http.StatusInternalServerError, "could not check the caller's role"
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
	if p.handover(w, r, tenant, name, base) {
		return
	}
	u, ok := p.caller(w, r, tenant, name)
	if !ok {
		return
	}
	if status, msg := p.authorize(r.Context(), u, tenant); status != 0 {
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
	removeFerryCookies(r)
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
		Transport:      p.Transport,
		FlushInterval:  -1, // stream (kernel output, event streams)
		ModifyResponse: stripFerryCookies,
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

// ferryCookie is a cookie name that belongs to ferry, not to a notebook.
func ferryCookie(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "ferry_")
}

func removeFerryCookies(r *http.Request) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if !ferryCookie(c.Name) {
			r.AddCookie(c)
		}
	}
}

// stripFerryCookies drops a notebook's Set-Cookie of ferry's cookies: code in
// a notebook must not replace (fix) the browser's session for it.
func stripFerryCookies(resp *http.Response) error {
	set := resp.Header.Values("Set-Cookie")
	if len(set) == 0 {
		return nil
	}
	resp.Header.Del("Set-Cookie")
	for _, line := range set {
		name, _, _ := strings.Cut(line, "=")
		if !ferryCookie(strings.TrimSpace(name)) {
			resp.Header.Add("Set-Cookie", line)
		}
	}
	return nil
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
