package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// limitedCount reads ferry_gateway_lookups_limited_total.
func limitedCount(t *testing.T, g *Gateway) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.metrics.limited.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestLookupsMissingTheCacheAreLimitedPerClientAndCachedAnswersAreNot(t *testing.T) {
	cp := &countingCP{fakeCP: fakeCP{tokens: map[string]string{"ferry_tenant_a": "a"}}}
	cp.table = v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "iris",
		Revisions: []v1.RouteRevision{{Name: "iris-r1", URL: backend(t, "r1"), Weight: 100, Ready: 1}}}}}
	// Half a lookup a second, burst 3: the fourth miss within the window is refused.
	g, err := New(Config{ControlPlane: cp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LookupRate: 0.5, LookupBurst: 3})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	g.lookups.now = clock.now
	g.SetTable(cp.table)
	h := g.Handler()
	get := func(addr, token string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", "/serve/a/iris/v2/health/ready", nil)
		req.RemoteAddr = addr
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	checks := func() int { cp.mu.Lock(); defer cp.mu.Unlock(); return cp.checks }
	const flooder, other = "10.0.0.1:40000", "10.0.0.2:40000"

	// The flooder's address first caches a good token (one lookup of three) ...
	if rec := get(flooder, "ferry_tenant_a"); rec.Code != 200 {
		t.Fatalf("good token: %d %s", rec.Code, rec.Body)
	}
	// ... then spends the other two on made-up tokens.
	for i := range 2 {
		if rec := get(flooder, fmt.Sprintf("ferry_made_up_%d", i)); rec.Code != 404 {
			t.Fatalf("made-up token %d within the burst: %d, want 404", i, rec.Code)
		}
	}
	if n := checks(); n != 3 {
		t.Fatalf("%d lookups after three misses, want 3", n)
	}
	rec := get(flooder, "ferry_made_up_2")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Content-Type") != v1.ContentTypeProblem ||
		!strings.Contains(rec.Body.String(), `"status":429`) {
		t.Fatalf("the fourth miss: %d %q %s, want 429 problem+json", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2 (one lookup per 2 s)", ra)
	}
	if n := checks(); n != 3 {
		t.Errorf("the refused miss made a lookup: %d, want 3", n)
	}
	if v := limitedCount(t, g); v != 1 {
		t.Errorf("ferry_gateway_lookups_limited_total %v, want 1", v)
	}

	// Cached answers, good and bad, pass from the limited address and from another.
	for _, addr := range []string{flooder, other} {
		if rec := get(addr, "ferry_tenant_a"); rec.Code != 200 {
			t.Errorf("cached good token from %s: %d, want 200", addr, rec.Code)
		}
		if rec := get(addr, "ferry_made_up_0"); rec.Code != 404 {
			t.Errorf("cached refusal from %s: %d, want 404 (not limited)", addr, rec.Code)
		}
	}
	if n := checks(); n != 3 {
		t.Errorf("cached answers made lookups: %d, want 3", n)
	}
	// Another address has a bucket of its own.
	if rec := get(other, "ferry_made_up_other"); rec.Code != 404 || checks() != 4 {
		t.Errorf("a miss from another address: %d after %d lookups, want 404 after 4", rec.Code, checks())
	}

	// The bucket refills: after 2 s the flooder has one more lookup, not two.
	clock.advance(2 * time.Second)
	if rec := get(flooder, "ferry_made_up_3"); rec.Code != 404 || checks() != 5 {
		t.Errorf("after refilling: %d after %d lookups, want 404 after 5", rec.Code, checks())
	}
	if rec := get(flooder, "ferry_made_up_4"); rec.Code != 429 || checks() != 5 {
		t.Errorf("the refill was one lookup: %d after %d lookups, want 429 after 5", rec.Code, checks())
	}
	clock.advance(time.Second)
	if rec := get(flooder, "ferry_made_up_4"); rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("half a bucket later: %d Retry-After %q, want 429 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if v := limitedCount(t, g); v != 3 {
		t.Errorf("ferry_gateway_lookups_limited_total %v, want 3", v)
	}
	// API keys are never looked up, so never limited.
	g.SetTable(v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "iris", KeyHashes: []string{hashKey(key)}, Revisions: cp.table.Routes[0].Revisions}}})
	req := httptest.NewRequest("GET", "/serve/a/iris/v2/health/ready", nil)
	req.RemoteAddr = flooder
	req.Header.Set(v1.HeaderAPIKey, key)
	rk := httptest.NewRecorder()
	h.ServeHTTP(rk, req)
	if rk.Code != 200 {
		t.Errorf("an API key from the limited address: %d, want 200", rk.Code)
	}
}

func TestLookupTableStaysBoundedAndDropsIdleClientsFirst(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := newLookupLimiter(10, 20, 100)
	l.now = clock.now
	for i := range 10000 {
		if ok, _ := l.take(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)); !ok {
			t.Fatalf("address %d's first lookup was refused", i)
		}
		if n := l.len(); n > 100 {
			t.Fatalf("after %d addresses the table holds %d buckets, want at most 100", i+1, n)
		}
	}

	// Idle buckets (full again) go first; a client that spent its bucket keeps it.
	l = newLookupLimiter(10, 20, 10)
	l.now = clock.now
	for i := range 9 {
		l.take(fmt.Sprintf("idle-%d", i))
	}
	clock.advance(2 * time.Second) // 20 tokens at 10/s: the nine are full again
	for range 20 {
		if ok, _ := l.take("flooder"); !ok {
			t.Fatal("the flooder's burst was refused")
		}
	}
	if ok, _ := l.take("flooder"); ok {
		t.Fatal("the flooder's 21st lookup was allowed")
	}
	if ok, _ := l.take("newcomer"); !ok {
		t.Fatal("a new client was refused")
	}
	if n := l.len(); n != 2 {
		t.Errorf("the table holds %d buckets, want 2 (the nine idle ones dropped)", n)
	}
	if ok, retry := l.take("flooder"); ok || retry != 100*time.Millisecond {
		t.Errorf("the flooder after the sweep: allowed %v, retry %s; want refused, 100ms", ok, retry)
	}
	// Below the table's size, idle buckets are swept once a minute.
	clock.advance(lookupSweep)
	l.take("late")
	if n := l.len(); n != 1 {
		t.Errorf("a minute later the table holds %d buckets, want 1", n)
	}
}

func TestClientIsTheRemoteAddressIPv6ByItsSlash64(t *testing.T) {
	for addr, want := range map[string]string{
		"10.0.0.1:5":             "10.0.0.1",
		"[::ffff:10.0.0.1]:5":    "10.0.0.1",
		"[2001:db8::1]:5":        "2001:db8::/64",
		"[2001:db8::2%eth0]:7":   "2001:db8::/64",
		"[2001:db8:0:1::1]:7":    "2001:db8:0:1::/64",
		"not-an-address":         "not-an-address",
		"not-an-address:1234567": "not-an-address",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = addr
		req.Header.Set("X-Forwarded-For", "192.0.2.9")
		if got := clientKey(req); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestConfigValidatesTheLookupLimitNamingTheField(t *testing.T) {
	base := func() Config {
		return Config{ControlPlane: &fakeCP{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	c := base()
	if err := c.Validate(); err != nil || c.LookupRate != 10 || c.LookupBurst != 20 || c.LookupClients != 10000 {
		t.Fatalf("defaults: %v rate %v burst %d clients %d", err, c.LookupRate, c.LookupBurst, c.LookupClients)
	}
	for field, set := range map[string]func(*Config){
		"LookupRate":    func(c *Config) { c.LookupRate = -1 },
		"LookupRate ":   func(c *Config) { c.LookupRate = math.NaN() },
		"LookupRate  ":  func(c *Config) { c.LookupRate = math.Inf(1) },
		"LookupBurst":   func(c *Config) { c.LookupBurst = -1 },
		"LookupClients": func(c *Config) { c.LookupClients = -5 },
	} {
		c := base()
		set(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(field)) {
			t.Errorf("%s: %v, want an error naming the field", field, err)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted it", field)
		}
	}
}
