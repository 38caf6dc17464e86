package api

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// reasonServing is a ServingRunner that knows one revision's reason.
type reasonServing struct {
	revision, reason string
	endpoints        []string
	starting         []string
}

func (reasonServing) Poke()                              {}
func (reasonServing) Report(time.Time, v1.GatewayReport) {}
func (reasonServing) RevisionStats(_, _, _ string, _ time.Time) v1.RevisionStats {
	return v1.RevisionStats{}
}
func (s reasonServing) RevisionReason(tenant, deployment, revision string) string {
	if tenant == "ml" && deployment == "iris" && revision == s.revision {
		return s.reason
	}
	return ""
}
func (reasonServing) OpenArtifact(context.Context, string) (io.ReadCloser, error) { return nil, io.EOF }
func (s reasonServing) Endpoints(tenant, deployment, revision string) []string {
	if tenant == "ml" && deployment == "iris" && revision == s.revision {
		return s.endpoints
	}
	return nil
}
func (s reasonServing) Starting(tenant, deployment, revision string) []string {
	if tenant == "ml" && deployment == "iris" && revision == s.revision {
		return s.starting
	}
	return nil
}

// TestADeploymentsRevisionCarriesTheControllersReason: the deployment's
// revision status says why it is not ready, as the controller found.
func TestADeploymentsRevisionCarriesTheControllersReason(t *testing.T) {
	t.Parallel()
	why := `cannot pull the image "ferry.local/nope:1" (ImagePullBackOff): Back-off pulling image "ferry.local/nope:1"`
	e := newAPIEnv(t, func(c *Config) {
		c.Serving = reasonServing{revision: "iris-r1", reason: why, endpoints: []string{"http://10.244.1.7:8080"},
			starting: []string{"http://10.244.1.8:8080"}}
	})
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "8", "memory": "16Gi"})
	registerModel(t, e, "ml")
	e.must(201, "POST", "/api/v1/tenants/ml/deployments", tok, map[string]any{"name": "iris", "model": "iris/1"})
	d := e.must(200, "GET", "/api/v1/tenants/ml/deployments/iris", tok, nil)
	rev := d.body["revisions"].([]any)[0].(map[string]any)
	if rev["name"] != "iris-r1" || rev["reason"] != why {
		t.Fatalf("revision: %s", d.raw)
	}
	// The routing table carries the runner's ready pods, and counts them as
	// ready before the stored count (0 here: nothing runs) catches up.
	e.must(201, "POST", "/api/v1/tenants/ml/deployments", tok, map[string]any{"name": "other", "model": "iris/1"})
	rt := e.must(200, "GET", "/api/v1/serving/routes", e.admin, nil)
	seen := map[string]bool{}
	for _, r := range rt.body["routes"].([]any) {
		dep := r.(map[string]any)["deployment"].(string)
		rev := r.(map[string]any)["revisions"].([]any)[0].(map[string]any)
		eps, has := rev["endpoints"]
		switch dep {
		case "iris":
			if fmt.Sprint(eps) != "[http://10.244.1.7:8080]" || rev["ready"] != float64(1) ||
				fmt.Sprint(rev["starting"]) != "[http://10.244.1.8:8080]" || rev["probePath"] != "/v2/health/ready" {
				t.Errorf("iris-r1 in the routing table: %v", rev)
			}
		case "other":
			if _, starting := rev["starting"]; has || starting || rev["ready"] != float64(0) {
				t.Errorf("a revision with no pods known has endpoints or is ready: %v", rev)
			}
		}
		seen[dep] = true
	}
	if !seen["iris"] || !seen["other"] {
		t.Fatalf("routing table: %s", rt.raw)
	}
}
