package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

type fakeCP struct {
	mu      sync.Mutex
	table   v1.RoutingTable
	reports []v1.GatewayReport
	tokens  map[string]string // token -> tenant it may call
}

func (f *fakeCP) ServingRoutes(context.Context) (v1.RoutingTable, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.table, nil
}

func (f *fakeCP) ServingReport(_ context.Context, r v1.GatewayReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, r)
	return nil
}

func (f *fakeCP) CanCall(_ context.Context, token, tenant, _ string) (bool, error) {
	return f.tokens[token] == tenant, nil
}

func backend(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(v1.HeaderAPIKey) != "" || r.Header.Get("Authorization") != "" {
			http.Error(w, "credentials leaked to the backend", 500)
			return
		}
		io.WriteString(w, name+" "+r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

const key = v1.APIKeyPrefix + "abc"

func newGateway(t *testing.T, cp *fakeCP, hold time.Duration) (*Gateway, *httptest.Server) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	draw := func() float64 { mu.Lock(); defer mu.Unlock(); return r.Float64() }
	g, err := New(Config{ControlPlane: cp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Name: "g1", HoldTimeout: hold, MaxHeld: 2, Rand: draw})
	if err != nil {
		t.Fatal(err)
	}
	g.SetTable(cp.table)
	s := httptest.NewServer(g.Handler())
	t.Cleanup(s.Close)
	return g, s
}

func call(t *testing.T, url, cred string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader("{}"))
	if cred != "" {
		req.Header.Set(v1.HeaderAPIKey, cred)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWeightedSplitIsWithinTwoPointsOverManyDraws(t *testing.T) {
	revs := []v1.RouteRevision{{Name: "stable", Weight: 80}, {Name: "canary", Weight: 20}, {Name: "off", Weight: 0}}
	r := rand.New(rand.NewPCG(7, 9))
	n := map[string]int{}
	const draws = 20000
	for range draws {
		rev, ok := pick(revs, r.Float64())
		if !ok {
			t.Fatal("no pick")
		}
		n[rev.Name]++
	}
	if share := float64(n["canary"]) / draws; share < 0.18 || share > 0.22 || n["off"] != 0 {
		t.Fatalf("canary share %.3f (want 0.20±0.02), weight-0 picks %d", share, n["off"])
	}
	if _, ok := pick([]v1.RouteRevision{{Name: "a"}}, 0.5); ok {
		t.Fatal("all weights 0 picked a revision")
	}
}

func TestRoutesByPathAuthenticatesAndSplitsThroughTheProxy(t *testing.T) {
	cp := &fakeCP{tokens: map[string]string{"ferry_tenant_a": "a", "ferry_tenant_b": "b"}}
	cp.table = v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "iris", KeyHashes: []string{hashKey(key)},
		Revisions: []v1.RouteRevision{{Name: "iris-r1", URL: backend(t, "r1"), Weight: 80, Ready: 1}, {Name: "iris-r2", URL: backend(t, "r2"), Weight: 20, Ready: 1}}}}}
	g, s := newGateway(t, cp, time.Second)
	url := s.URL + "/serve/a/iris/v2/models/iris/infer"
	if code, _ := call(t, url, ""); code != 401 {
		t.Errorf("no credentials: %d", code)
	}
	if code, _ := call(t, url, v1.APIKeyPrefix+"wrong"); code != 404 {
		t.Errorf("wrong key: %d, want 404", code)
	}
	if code, _ := call(t, s.URL+"/serve/a/other/x", key); code != 404 {
		t.Errorf("unknown deployment: %d", code)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer ferry_tenant_b")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 404 {
		t.Errorf("tenant b's token on a's deployment: %d, want 404", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer ferry_tenant_a")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 200 {
		t.Errorf("tenant a's token: %d", resp.StatusCode)
	}
	n := map[string]int{}
	for range 1000 {
		code, body := call(t, url, key)
		if code != 200 || !strings.HasSuffix(body, " /v2/models/iris/infer") {
			t.Fatalf("through the gateway: %d %q", code, body)
		}
		n[strings.Fields(body)[0]]++
	}
	if n["r2"] < 150 || n["r2"] > 250 {
		t.Errorf("canary got %d of 1000, want 200±50", n["r2"])
	}
	g.report(t.Context())
	total := int64(0)
	for _, r := range cp.reports[len(cp.reports)-1].Revisions {
		total += r.Requests
		if r.Requests > 0 && r.P99Ms <= 0 {
			t.Errorf("report without latency: %+v", r)
		}
	}
	if total < 1000 {
		t.Errorf("reported %d requests, want ≥ 1000", total)
	}
	if pub, err := http.Get(s.URL + "/metrics"); err != nil || pub.StatusCode != 404 {
		t.Errorf("the serving port answers /metrics (every tenant's deployment names): %v %v", err, pub.StatusCode)
	}
	ms := httptest.NewServer(g.MetricsHandler())
	t.Cleanup(ms.Close)
	metrics, _ := http.Get(ms.URL + "/metrics")
	b, _ := io.ReadAll(metrics.Body)
	if !strings.Contains(string(b), `ferry_gateway_requests_total{code="2xx",deployment="iris",revision="iris-r2",tenant="a"}`) ||
		!strings.Contains(string(b), "ferry_gateway_request_duration_seconds_bucket") {
		t.Errorf("metrics lack per-revision counters or histograms")
	}
}

func TestActivatorHoldsUntilReadyTimesOutAndIsBounded(t *testing.T) {
	url := backend(t, "r1")
	cold := v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "iris", KeyHashes: []string{hashKey(key)},
		Revisions: []v1.RouteRevision{{Name: "iris-r1", URL: url, Weight: 100, Ready: 0}}}}}
	cp := &fakeCP{table: cold}
	g, s := newGateway(t, cp, 5*time.Second)
	done := make(chan int, 1)
	go func() { code, _ := call(t, s.URL+"/serve/a/iris/x", key); done <- code }()
	deadline := time.Now().Add(5 * time.Second)
	for g.act.Waiting("a/iris-r1") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request was never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case code := <-done:
		t.Fatalf("answered %d while the revision was at zero", code)
	default:
	}
	waitReport := time.Now().Add(5 * time.Second)
	for {
		cp.mu.Lock()
		held := len(cp.reports) > 0 && cp.reports[len(cp.reports)-1].Revisions[0].Waiting == 1
		cp.mu.Unlock()
		if held {
			break
		}
		if time.Now().After(waitReport) {
			t.Fatal("holding a request did not report it to the control plane at once")
		}
		time.Sleep(5 * time.Millisecond)
	}
	warm := cold
	warm.Routes = []v1.Route{cold.Routes[0]}
	warm.Routes[0].Revisions = []v1.RouteRevision{{Name: "iris-r1", URL: url, Weight: 100, Ready: 1}}
	g.SetTable(warm)
	if code := <-done; code != 200 {
		t.Fatalf("released request: %d", code)
	}

	g2, s2 := newGateway(t, &fakeCP{table: cold}, 200*time.Millisecond)
	start := time.Now()
	if code, body := call(t, s2.URL+"/serve/a/iris/x", key); code != 503 || !strings.Contains(body, "did not become ready") {
		t.Fatalf("timed out hold: %d %s", code, body)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("held %s, want about the 200ms timeout", d)
	}
	g2.act.Timeout = 2 * time.Second
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); call(t, s2.URL+"/serve/a/iris/x", key) }()
	}
	for g2.act.Waiting("a/iris-r1") < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	if code, body := call(t, s2.URL+"/serve/a/iris/x", key); code != 503 || !strings.Contains(body, "too many") {
		t.Errorf("third request with a queue of 2: %d %s", code, body)
	}
	g2.act.Wake()
	wg.Wait()
}

// countingCP counts the control plane's token checks.
type countingCP struct {
	fakeCP
	mu     sync.Mutex
	checks int
}

func (c *countingCP) CanCall(ctx context.Context, token, tenant, dep string) (bool, error) {
	c.mu.Lock()
	c.checks++
	c.mu.Unlock()
	return c.fakeCP.CanCall(ctx, token, tenant, dep)
}

func TestTokenAnswersAreCachedByHashBoundedAndNameTheRevision(t *testing.T) {
	cp := &countingCP{fakeCP: fakeCP{tokens: map[string]string{"ferry_tenant_a": "a"}}}
	cp.table = v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "iris",
		Revisions: []v1.RouteRevision{{Name: "iris-r1", URL: backend(t, "r1"), Weight: 100, Ready: 1}}}}}
	g, err := New(Config{ControlPlane: cp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TokenCacheSize: 50,
		LookupBurst: 1000}) // 500 made-up tokens from one address: within its lookup limit
	if err != nil {
		t.Fatal(err)
	}
	g.SetTable(cp.table)
	s := httptest.NewServer(g.Handler())
	t.Cleanup(s.Close)
	get := func(token string) *http.Response {
		req, _ := http.NewRequest("GET", s.URL+"/serve/a/iris/v2/health/ready", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for range 3 {
		if resp := get("ferry_tenant_a"); resp.StatusCode != 200 || resp.Header.Get(HeaderRevision) != "iris-r1" {
			t.Fatalf("tenant a: %d, revision header %q", resp.StatusCode, resp.Header.Get(HeaderRevision))
		}
	}
	if cp.checks != 1 {
		t.Errorf("three calls with one token asked the control plane %d times, want 1 (cached)", cp.checks)
	}
	for i := range 500 {
		if resp := get(fmt.Sprintf("ferry_random_%d", i)); resp.StatusCode != 404 {
			t.Fatalf("an unknown token: %d, want 404", resp.StatusCode)
		}
	}
	if n := g.tokens.len(); n > 50 {
		t.Errorf("500 random tokens left %d cached answers, want at most 50", n)
	}
	g.tokens.mu.Lock()
	for k := range g.tokens.m {
		if strings.Contains(k, "ferry_") {
			t.Errorf("the cache holds a token in the clear: %q", k)
		}
	}
	g.tokens.mu.Unlock()
	if resp := get(strings.Repeat("x", 300)); resp.StatusCode != 404 || cp.checks != 501 {
		t.Errorf("an over-long token: %d after %d checks, want 404 with no check", resp.StatusCode, cp.checks)
	}
}

// While a request is held the table is fetched every HeldRefresh, not
// every Refresh: with Refresh an hour, the revision's first ready replica
// still releases the request (the control plane's table changed, nobody
// called SetTable).
func TestHeldRequestsFetchTheTableSoonerThanTheRefresh(t *testing.T) {
	url := backend(t, "r1")
	route := func(ready int32) v1.RoutingTable {
		return v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "iris", KeyHashes: []string{hashKey(key)},
			Revisions: []v1.RouteRevision{{Name: "iris-r1", URL: url, Weight: 100, Ready: ready}}}}}
	}
	cp := &fakeCP{table: route(0)}
	g, err := New(Config{ControlPlane: cp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Name: "g1",
		Refresh: time.Hour, Report: time.Hour, HeldRefresh: 20 * time.Millisecond, HoldTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = g.Start(ctx) }()
	s := httptest.NewServer(g.Handler())
	defer s.Close()
	done := make(chan int, 1)
	go func() { code, _ := call(t, s.URL+"/serve/a/iris/x", key); done <- code }()
	for g.act.Waiting("a/iris-r1") == 0 {
		select {
		case code := <-done:
			t.Fatalf("answered %d before the revision was ready", code)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cp.mu.Lock()
	cp.table = route(1)
	cp.mu.Unlock()
	select {
	case code := <-done:
		if code != 200 {
			t.Fatalf("released request: %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the held request was not released: the table was not fetched while it waited")
	}
}

func TestRequestsGoToTheReadyPodsAndGoneOnesAreDropped(t *testing.T) {
	svc, p1, p2 := backend(t, "service"), backend(t, "pod1"), backend(t, "pod2")
	table := func(eps ...string) v1.RoutingTable {
		return v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "iris", KeyHashes: []string{hashKey(key)},
			Revisions: []v1.RouteRevision{{Name: "iris-r1", URL: svc, Endpoints: eps, Weight: 100, Ready: 1}}}}}
	}
	cp := &fakeCP{table: table(p1, p2)}
	g, s := newGateway(t, cp, time.Second)
	url := s.URL + "/serve/a/iris/v2/health/ready"
	n := map[string]int{}
	for range 400 {
		code, body := call(t, url, key)
		if code != 200 {
			t.Fatalf("through the gateway: %d %q", code, body)
		}
		n[strings.Fields(body)[0]]++
	}
	if n["service"] != 0 || n["pod1"] < 150 || n["pod2"] < 150 {
		t.Fatalf("with two ready pods: %v, want both pods about half each and never the Service", n)
	}
	// The control plane away for longer than EndpointTTL: pod addresses may
	// have been freed and given to other pods, so the Service is used.
	g.tableAt.Store(time.Now().Add(-g.cfg.EndpointTTL - time.Second).UnixNano())
	if _, body := call(t, url, key); !strings.HasPrefix(body, "service ") {
		t.Fatalf("with a table older than EndpointTTL: %q, want the Service", body)
	}
	g.SetTable(table(p2))
	for range 50 {
		if _, body := call(t, url, key); !strings.HasPrefix(body, "pod2 ") {
			t.Fatalf("after pod1 left the table: %q", body)
		}
	}
	if _, ok := g.proxies.Load(p1); ok {
		t.Error("the proxy to a pod that left the table is kept")
	}
	g.SetTable(table())
	if _, body := call(t, url, key); !strings.HasPrefix(body, "service ") {
		t.Fatalf("with no endpoints known: %q, want the Service", body)
	}
}

// TestHeldRequestsGoToAStartingPodAsSoonAsItAnswersItsProbe: a revision at
// zero whose pod runs but is not ready in the table (the kubelet has not
// said so yet) gets its held request once the pod answers the gateway's
// own probe at the revision's probe path; no request reaches the pod
// before that; a pod the table no longer lists as starting is not used.
func TestHeldRequestsGoToAStartingPodAsSoonAsItAnswersItsProbe(t *testing.T) {
	var ready atomic.Bool
	var probes, served atomic.Int64
	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/health/ready" {
			probes.Add(1)
			if !ready.Load() {
				http.Error(w, "loading", http.StatusServiceUnavailable)
				return
			}
			return
		}
		served.Add(1)
		io.WriteString(w, "pod "+r.URL.Path)
	}))
	t.Cleanup(pod.Close)
	svc := backend(t, "service") // where the Service would send: not ready
	table := func(starting ...string) v1.RoutingTable {
		return v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "iris", KeyHashes: []string{hashKey(key)},
			Revisions: []v1.RouteRevision{{Name: "iris-r1", URL: svc, Weight: 100, Ready: 0, Starting: starting, ProbePath: "/v2/health/ready"}}}}}
	}
	cp := &fakeCP{table: table(pod.URL)}
	g, s := newGateway(t, cp, 10*time.Second)
	done := make(chan string, 1)
	go func() {
		code, body := call(t, s.URL+"/serve/a/iris/v2/models/iris/infer", key)
		done <- fmt.Sprint(code, " ", body)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for probes.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the starting pod was probed %d times in 5s while a request was held", probes.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case got := <-done:
		t.Fatalf("answered %q while the pod was not ready", got)
	default:
	}
	if served.Load() != 0 {
		t.Fatalf("the pod got %d requests before it answered its probe", served.Load())
	}
	ready.Store(true)
	start := time.Now()
	select {
	case got := <-done:
		if got != "200 pod /v2/models/iris/infer" {
			t.Fatalf("held request: %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held request was not released within 5s of the pod answering its probe")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("released %s after the pod turned ready, want within a probe interval or two", d)
	}
	// Until the kubelet's status arrives, later requests go to the probed pod at once.
	if code, body := call(t, s.URL+"/serve/a/iris/x", key); code != 200 || body != "pod /x" {
		t.Errorf("a request after the release: %d %q", code, body)
	}
	// The pod leaves the starting list: it is forgotten, nothing is sent to it.
	g.SetTable(table())
	if _, ok := g.probed.Load(pod.URL); ok {
		t.Error("a pod no longer listed as starting is still remembered as probed")
	}
	before := served.Load()
	g.act.Timeout = 300 * time.Millisecond
	if code, _ := call(t, s.URL+"/serve/a/iris/x", key); code != 503 || served.Load() != before {
		t.Errorf("with no starting pod listed: %d, and the pod got %d more requests", code, served.Load()-before)
	}
}
