package gateway

import (
	"io"
	"net/http"
	"strings"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// While requests wait for a revision at zero, the gateway probes the
// revision's starting pods itself (RouteRevision.Starting, at its
// ProbePath, every ProbeInterval) and sends the held requests to the first
// that answers, as Knative's activator does. Waiting for the kubelet
// instead costs up to its probe period (1 s) after the model is loaded,
// then the pod's status reaching the API server, the control plane's pod
// cache and the gateway's next table.
//
// Only the pods the control plane lists are probed (those of revisions it
// applied, in a namespace that is ferry's for the tenant), and a pod that
// answered is used only while the table still lists it as starting: once
// the kubelet agrees it is among the revision's endpoints, and when it goes
// away it is in neither list.

// maxProbeBody bounds what is read of a probe's answer.
const maxProbeBody = 4 << 10

// probeOK is the kubelet's rule for an HTTP probe: 200-399 is ready.
func probeOK(code int) bool { return code >= 200 && code < 400 }

// probedStarting is a starting pod of x that answered its probe ("" if none).
func (g *Gateway) probedStarting(x v1.RouteRevision) string {
	for _, u := range x.Starting {
		if _, ok := g.probed.Load(u); ok {
			return u
		}
	}
	return ""
}

// startProbing runs a prober for tenant's revision rev of deployment dep
// unless one runs; it ends when no request waits for the revision any more.
func (g *Gateway) startProbing(tenant, dep, rev string) {
	key := tenant + "/" + rev
	if _, running := g.probing.LoadOrStore(key, struct{}{}); running {
		return
	}
	go func() {
		defer g.probing.Delete(key)
		tick := time.NewTicker(g.cfg.ProbeInterval)
		defer tick.Stop()
		for g.act.Waiting(key) > 0 {
			if rt, ok := g.route(tenant, dep); ok {
				for _, x := range rt.Revisions {
					if x.Name == rev && x.Ready == 0 {
						g.probeStarting(x)
					}
				}
			}
			<-tick.C
		}
	}()
}

// probeStarting probes x's starting pods that have not answered yet and
// wakes the held requests when one does.
func (g *Gateway) probeStarting(x v1.RouteRevision) {
	path := x.ProbePath
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	for _, u := range x.Starting {
		if _, ok := g.probed.Load(u); ok {
			continue
		}
		if g.probe(u + path) {
			g.probed.Store(u, time.Now())
			g.act.Wake()
			return
		}
	}
}

// probe says whether url answers as a ready pod does.
func (g *Gateway) probe(url string) bool {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "ferry-gateway-probe")
	resp, err := g.probes.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxProbeBody)
	resp.Body.Close()
	return probeOK(resp.StatusCode)
}

// newProbeClient probes with timeout, following no redirect (a 3xx
// answer is success, as for the kubelet, without leaving the pod).
func newProbeClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
