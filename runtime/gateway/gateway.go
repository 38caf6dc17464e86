package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// ControlPlane is what the gateway asks of the control plane (the typed client).
type ControlPlane interface {
	ServingRoutes(ctx context.Context) (v1.RoutingTable, error)
	ServingReport(ctx context.Context, r v1.GatewayReport) error
	// CanCall says whether a tenant token may call a deployment (it may read it).
	CanCall(ctx context.Context, token, tenant, deployment string) (bool, error)
}

// Config configures a gateway.
type Config struct {
	ControlPlane ControlPlane
	Logger       *slog.Logger
	// Name tells this replica's reports apart (default: the host name).
	Name string
	// Refresh is how often the routing table is fetched (default 1s), Report
	// how often measurements are pushed (default 1s). While requests are
	// held for a revision starting from zero the table is fetched every
	// HeldRefresh (default 200ms), so its first ready replica is used soon.
	Refresh, Report, HeldRefresh time.Duration
	// HoldTimeout bounds how long a request waits for a revision to start
	// (default 30s); MaxHeld bounds how many wait per revision (default 100).
	HoldTimeout time.Duration
	MaxHeld     int
	// TokenCacheTTL is how long a tenant token's answer is trusted (default
	// 30s); TokenCacheSize bounds the answers kept (default 10,000).
	TokenCacheTTL  time.Duration
	TokenCacheSize int
	// LookupRate and LookupBurst bound, per client address, the credential
	// lookups that miss the token cache (default 10 a second, burst 20):
	// made-up tokens cannot turn every request into a control-plane call.
	// LookupClients bounds the addresses tracked (default 10,000). See limit.go.
	LookupRate    float64
	LookupBurst   int
	LookupClients int
	Registry      *prometheus.Registry
	// Transport reaches the revisions for what the hop does not carry
	// (default: a pooled http.Transport). When one is given it carries
	// every request and the hop (hop.go) is off.
	Transport http.RoundTripper
	// EndpointTTL is how long after the last routing table the gateway
	// sends to the pod addresses it names (default 5s); past it, while the
	// control plane is away, it uses the revisions' Services, so that a pod
	// address freed and given to another tenant's pod meanwhile is never used.
	EndpointTTL time.Duration
	// ProbeInterval is how often a starting pod is probed while requests
	// wait for its revision (default 100ms), ProbeTimeout how long one
	// probe may take (default 1s). See probe.go.
	ProbeInterval, ProbeTimeout time.Duration
	// Rand draws the weighted split (default math/rand/v2).
	Rand func() float64
	hop  bool // the hop carries what it can (no Transport was given)
}

// Validate fills defaults.
func (c *Config) Validate() error {
	if c.ControlPlane == nil || c.Logger == nil {
		return errors.New("gateway: control plane and logger are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Refresh, time.Second)
	def(&c.Report, time.Second)
	def(&c.HeldRefresh, 200*time.Millisecond)
	def(&c.HoldTimeout, 30*time.Second)
	def(&c.TokenCacheTTL, 30*time.Second)
	def(&c.EndpointTTL, 5*time.Second)
	def(&c.ProbeInterval, 100*time.Millisecond)
	def(&c.ProbeTimeout, time.Second)
	if c.MaxHeld <= 0 {
		c.MaxHeld = 100
	}
	if c.TokenCacheSize <= 0 {
		c.TokenCacheSize = 10000
	}
	if err := c.validateLookups(); err != nil {
		return err
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Transport == nil {
		c.hop = true
		c.Transport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: false}
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	return nil
}

// Gateway routes /serve/<tenant>/<deployment>/... to revisions.
type Gateway struct {
	cfg     Config
	table   atomic.Pointer[map[string]*route]
	tableAt atomic.Int64 // when the table was set (UnixNano)
	act     *activator
	metrics *metrics
	win     windows
	tokens  tokenCache
	lookups *lookupLimiter
	proxies sync.Map // backend URL -> *backendProxy
	revs    revisionCache
	probes  *http.Client
	probing sync.Map // tenant/revision -> struct{}, while its prober runs
	probed  sync.Map // starting pod URL -> time it answered its probe
}

// New makes a gateway; Start keeps its table and reports going.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, act: newActivator(cfg.MaxHeld, cfg.HoldTimeout), metrics: newMetrics(cfg.Registry),
		lookups: newLookupLimiter(cfg.LookupRate, cfg.LookupBurst, cfg.LookupClients), probes: newProbeClient(cfg.ProbeTimeout)}
	empty := map[string]*route{}
	g.table.Store(&empty)
	return g, nil
}

// SetTable replaces the routing table and wakes held requests. Proxies to
// backends no longer in the table are dropped: pod addresses come and go.
func (g *Gateway) SetTable(t v1.RoutingTable) {
	m := make(map[string]*route, len(t.Routes))
	backends, starting := map[string]bool{}, map[string]bool{}
	for _, r := range t.Routes {
		m[r.Tenant+"/"+r.Deployment] = newRoute(r)
		for _, rev := range r.Revisions {
			backends[rev.URL] = true
			for _, e := range rev.Endpoints {
				backends[e] = true
			}
			for _, e := range rev.Starting {
				backends[e] = true
				starting[e] = true
			}
		}
	}
	g.table.Store(&m)
	// A probed pod matters only while it is listed as starting.
	g.probed.Range(func(k, _ any) bool {
		if !starting[k.(string)] {
			g.probed.Delete(k)
		}
		return true
	})
	g.tableAt.Store(time.Now().UnixNano())
	g.proxies.Range(func(k, p any) bool {
		if !backends[k.(string)] {
			g.proxies.Delete(k)
			p.(*backendProxy).pool.close()
		}
		return true
	})
	g.act.Wake()
}

// backend is where a request to rev goes: one of its ready pods, drawn at
// random, or its Service when the table names none or is older than
// EndpointTTL.
func (g *Gateway) backend(rev v1.RouteRevision) string {
	if n := len(rev.Endpoints); n > 0 && time.Since(time.Unix(0, g.tableAt.Load())) <= g.cfg.EndpointTTL {
		return rev.Endpoints[min(int(g.cfg.Rand()*float64(n)), n-1)]
	}
	return rev.URL
}

// route is a table entry with its API key hashes decoded once, so that a
// request's key is checked against bytes (no hex string per request).
type route struct {
	v1.Route
	keys [][sha256.Size]byte
}

func newRoute(r v1.Route) *route {
	x := &route{Route: r}
	for _, h := range r.KeyHashes {
		var k [sha256.Size]byte
		if n, err := hex.Decode(k[:], []byte(h)); err == nil && n == len(k) {
			x.keys = append(x.keys, k)
		}
	}
	return x
}

func (g *Gateway) route(tenant, dep string) (*route, bool) {
	r, ok := (*g.table.Load())[tenant+"/"+dep]
	return r, ok
}

// Start refreshes the table and pushes reports until ctx ends.
func (g *Gateway) Start(ctx context.Context) error {
	refresh := time.NewTicker(g.cfg.Refresh)
	report := time.NewTicker(g.cfg.Report)
	held := time.NewTicker(g.cfg.HeldRefresh)
	defer refresh.Stop()
	defer report.Stop()
	defer held.Stop()
	g.refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refresh.C:
			g.refresh(ctx)
		case <-held.C:
			if g.act.Held() {
				g.refresh(ctx)
			}
		case <-report.C:
			g.report(ctx)
		}
	}
}

func (g *Gateway) refresh(ctx context.Context) {
	t, err := g.cfg.ControlPlane.ServingRoutes(ctx)
	if err != nil {
		// Keep serving the last table: inference outlives a control plane restart.
		g.cfg.Logger.Warn("routing table", "err", err)
		return
	}
	g.SetTable(t)
}

func (g *Gateway) report(ctx context.Context) {
	revs := g.win.drain(func(k string) int { return g.act.Waiting(k) })
	if len(revs) == 0 {
		return
	}
	if err := g.cfg.ControlPlane.ServingReport(ctx, v1.GatewayReport{Gateway: g.cfg.Name, PeriodMs: g.cfg.Report.Milliseconds(), Revisions: revs}); err != nil {
		g.cfg.Logger.Warn("report", "err", err)
	}
}

// Handler serves /serve/... and /healthz: what callers reach.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle(v1.ServePrefix, http.HandlerFunc(g.serve))
	return mux
}

// MetricsHandler serves /metrics, on a listener of its own: its series
// name every tenant's deployments, which callers of one may not learn.
func (g *Gateway) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g.cfg.Registry, promhttp.HandlerOpts{}))
	return mux
}

func problem(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", v1.ContentTypeProblem)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"title":%q,"status":%d,"detail":%q}`+"\n", http.StatusText(status), status, msg)
}

// credentials are a request's key or token.
func credentials(r *http.Request) string {
	if k := r.Header.Get(v1.HeaderAPIKey); k != "" {
		return k
	}
	if s, ok := strings.CutPrefix(r.Header.Get(v1.HeaderAuthorization), "Bearer "); ok {
		return strings.TrimSpace(s)
	}
	return ""
}

func (g *Gateway) authorized(ctx context.Context, rt *route, cred string, r *http.Request) (bool, error) {
	if strings.HasPrefix(cred, v1.APIKeyPrefix) {
		if len(cred) > maxCredential {
			return false, nil
		}
		h := sha256.Sum256([]byte(cred))
		ok := false
		for i := range rt.keys {
			ok = ok || subtle.ConstantTimeCompare(rt.keys[i][:], h[:]) == 1
		}
		return ok, nil
	}
	if len(cred) > maxCredential {
		return false, nil
	}
	// The cache holds hashes, never tokens, and is bounded: random tokens
	// cannot grow it without limit.
	ck := hashKey(cred + "\x00" + rt.Tenant + "/" + rt.Deployment)
	if ok, hit := g.tokens.get(ck, time.Now()); hit {
		return ok, nil
	}
	if ok, retry := g.lookups.take(clientKey(r)); !ok {
		g.metrics.limited.Inc()
		return false, &errLimited{retry: retry}
	}
	ok, err := g.cfg.ControlPlane.CanCall(ctx, cred, rt.Tenant, rt.Deployment)
	if err != nil {
		return false, err
	}
	g.tokens.put(ck, ok, time.Now().Add(g.cfg.TokenCacheTTL), g.cfg.TokenCacheSize)
	return ok, nil
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, v1.ServePrefix)
	tenant, rest, _ := strings.Cut(rest, "/")
	dep, rest, _ := strings.Cut(rest, "/")
	rt, ok := g.route(tenant, dep)
	cred := credentials(r)
	if cred == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
		problem(w, http.StatusUnauthorized, "a tenant token or the deployment's API key is required (Authorization: Bearer, or X-Ferry-Key)")
		return
	}
	if !ok {
		problem(w, http.StatusNotFound, fmt.Sprintf("no deployment %s/%s", tenant, dep))
		return
	}
	allowed, err := g.authorized(r.Context(), rt, cred, r)
	if lim := (*errLimited)(nil); errors.As(err, &lim) {
		limitedProblem(w, lim)
		return
	}
	if err != nil {
		problem(w, http.StatusServiceUnavailable, "could not check the token with the control plane; API keys keep working")
		return
	}
	if !allowed {
		// Like the API: a deployment the caller may not call does not exist for it.
		problem(w, http.StatusNotFound, fmt.Sprintf("no deployment %s/%s", tenant, dep))
		return
	}
	rev, ok := pick(rt.Revisions, g.cfg.Rand())
	if !ok {
		problem(w, http.StatusServiceUnavailable, "the deployment has no revision taking traffic")
		return
	}
	start := time.Now()
	rm := g.metrics.revision(&g.revs, tenant, dep, rev.Name)
	rm.inFlight.Inc()
	g.win.start(tenant, dep, rev.Name)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		rm.inFlight.Dec()
		d := time.Since(start)
		rm.latency.Observe(d.Seconds())
		rm.codes[min(max(rec.status/100, 0), len(rm.codes)-1)].Inc()
		g.win.done(tenant, dep, rev.Name, rec.status >= 500, float64(d.Microseconds())/1000)
	}()
	if rev.Ready == 0 {
		key := tenant + "/" + rev.Name
		how := "the routing table"
		rm.held.Inc()
		err := g.act.Hold(r.Context(), key, func() bool {
			cur, ok := g.route(tenant, dep)
			if !ok {
				return false
			}
			for _, x := range cur.Revisions {
				if x.Name != rev.Name {
					continue
				}
				if x.Ready > 0 {
					rev = x
					return true
				}
				// A starting pod that answered the gateway's own probe.
				if u := g.probedStarting(x); u != "" {
					rev = x
					rev.Endpoints = []string{u}
					how = "the gateway's probe of " + u
					return true
				}
			}
			return false
		}, func() {
			go g.report(context.WithoutCancel(r.Context()))
			g.startProbing(tenant, dep, rev.Name)
		})
		rm.held.Dec()
		// One line per held request (bounded by MaxHeld per revision): how
		// long a start from zero kept it, and what said the revision was ready.
		g.cfg.Logger.Info("held request", "tenant", tenant, "revision", rev.Name, "heldMs", time.Since(start).Milliseconds(),
			"readyBy", how, "err", err)
		if err != nil {
			rec.status = http.StatusServiceUnavailable
			problem(w, http.StatusServiceUnavailable, fmt.Sprintf("revision %s is starting: %v", rev.Name, err))
			return
		}
	}
	// Which revision answered, for clients and tests that follow a rollout.
	w.Header().Set(HeaderRevision, rev.Name)
	r.URL.Path = "/" + rest
	r.URL.RawPath = ""
	r.Header.Del(v1.HeaderAPIKey)
	r.Header.Del(v1.HeaderAuthorization)
	g.forward(rec, r, g.backend(rev))
}

// backendProxy forwards to one backend: the hop, or ReverseProxy for what
// the hop does not carry.
type backendProxy struct {
	url  *url.URL
	rp   *httputil.ReverseProxy
	pool *hopPool
}

func (g *Gateway) proxy(target string) *backendProxy {
	if p, ok := g.proxies.Load(target); ok {
		return p.(*backendProxy)
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		u = &url.URL{Scheme: "http", Host: "invalid"}
	}
	p := &backendProxy{url: u, pool: newHopPool(hostPort(u)), rp: &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = u.Host },
		Transport:  g.cfg.Transport,
		BufferPool: copyBuffers,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			problem(w, http.StatusBadGateway, "the revision did not answer: "+err.Error())
		},
	}}
	actual, _ := g.proxies.LoadOrStore(target, p)
	return actual.(*backendProxy)
}

// hostPort is u's host with the port http implies when it names none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// forward sends r (its path already the backend's) to target.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, target string) {
	p := g.proxy(target)
	if !g.cfg.hop || !hoppable(r) {
		p.rp.ServeHTTP(w, r)
		return
	}
	err := g.hop(w, r, p.url, p.pool)
	if ce := (*clientError)(nil); errors.As(err, &ce) {
		problem(w, http.StatusBadRequest, ce.Error())
		return
	}
	if err != nil {
		problem(w, http.StatusBadGateway, "the revision did not answer: "+err.Error())
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// copyBuffers lends the proxies their copy buffers: without a pool each
// proxied request allocates 32 KiB.
var copyBuffers = &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }
