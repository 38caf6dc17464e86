package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// latencies sends n requests paced at rate per second and returns p50, p99.
func latencies(b *testing.B, c *http.Client, url, cred string, n int, rate float64) (time.Duration, time.Duration) {
	b.Helper()
	ds := make([]time.Duration, 0, n)
	gap := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for range n {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(gap)
		req, _ := http.NewRequest("POST", url, nil)
		if cred != "" {
			req.Header.Set(v1.HeaderAPIKey, cred)
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)*99/100]
}

// throughput is requests per second from workers clients over d.
func throughput(b *testing.B, c *http.Client, url, cred string, workers int, d time.Duration) float64 {
	b.Helper()
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				req, _ := http.NewRequest("POST", url, nil)
				if cred != "" {
					req.Header.Set(v1.HeaderAPIKey, cred)
				}
				resp, err := c.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// median is the middle of xs (sorted in place).
func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// BenchmarkGatewayAddedLatencyAndThroughput measures, in one run on
// loopback with a trivial backend, p50/p99 at 1,000 requests/s and requests
// per second, through the gateway and calling the backend directly, and
// prints the added latency and the throughput ratio. Throughput is measured
// in rounds, direct and through the gateway back to back, and the ratio is
// the median of the rounds', so that other load on the machine weighs on
// both sides alike. Each round also measures the gateway with the hop off
// (every request through httputil.ReverseProxy and http.Transport), the
// baseline the hop is judged against.
// Goals: ≤ 1 ms added at p99; ≥ 50% of direct throughput.
func BenchmarkGatewayAddedLatencyAndThroughput(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) }))
	defer be.Close()
	cp := &fakeCP{table: v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "d", KeyHashes: []string{hashKey(key)},
		Revisions: []v1.RouteRevision{{Name: "d-r1", URL: be.URL, Weight: 100, Ready: 1}}}}}}
	gateway := func(tr http.RoundTripper) *httptest.Server {
		g, err := New(Config{ControlPlane: cp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Transport: tr})
		if err != nil {
			b.Fatal(err)
		}
		g.SetTable(cp.table)
		return httptest.NewServer(g.Handler())
	}
	gw := gateway(nil)
	defer gw.Close()
	rp := gateway(&http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second})
	defer rp.Close()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	const path = "/serve/a/d/v2/models/d/infer"
	direct, via, viaRP := be.URL+"/v2/models/d/infer", gw.URL+path, rp.URL+path
	for i := 0; i < b.N; i++ {
		latencies(b, c, direct, "", 200, 1000)
		latencies(b, c, via, key, 200, 1000)
		d50, d99 := latencies(b, c, direct, "", 2000, 1000)
		g50, g99 := latencies(b, c, via, key, 2000, 1000)
		var ratios, rpRatios, drps, grps []float64
		for range 7 {
			d := throughput(b, c, direct, "", 16, time.Second)
			g := throughput(b, c, via, key, 16, time.Second)
			r := throughput(b, c, viaRP, key, 16, time.Second)
			drps, grps = append(drps, d), append(grps, g)
			ratios, rpRatios = append(ratios, g/d), append(rpRatios, r/d)
		}
		ratio, rpRatio := median(ratios), median(rpRatios)
		b.ReportMetric(float64((g50-d50).Microseconds())/1000, "added-p50-ms")
		b.ReportMetric(float64((g99-d99).Microseconds())/1000, "added-p99-ms")
		b.ReportMetric(ratio, "rps-ratio")
		b.ReportMetric(rpRatio, "rps-ratio-without-hop")
		b.Logf("at 1,000 req/s: direct p50 %s p99 %s; gateway p50 %s p99 %s; added p50 %s p99 %s (goal ≤ 1ms)",
			d50, d99, g50, g99, g50-d50, g99-d99)
		b.Logf("throughput, median of 7 rounds: direct %.0f req/s, gateway %.0f req/s, ratio %.2f (goal ≥ 0.50); "+
			"without the hop (ReverseProxy and http.Transport) %.2f", median(drps), median(grps), ratio, rpRatio)
	}
}
