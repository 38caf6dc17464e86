package api

import (
	"context"
	"io"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// reasonServing is a ServingRunner that knows one revision's reason.
type reasonServing struct{ revision, reason string }

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

// TestADeploymentsRevisionCarriesTheControllersReason: the deployment's
// revision status says why it is not ready, as the controller found.
func TestADeploymentsRevisionCarriesTheControllersReason(t *testing.T) {
	t.Parallel()
	why := `cannot pull the image "ferry.local/nope:1" (ImagePullBackOff): Back-off pulling image "ferry.local/nope:1"`
	e := newAPIEnv(t, func(c *Config) { c.Serving = reasonServing{revision: "iris-r1", reason: why} })
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "8", "memory": "16Gi"})
	registerModel(t, e, "ml")
	e.must(201, "POST", "/api/v1/tenants/ml/deployments", tok, map[string]any{"name": "iris", "model": "iris/1"})
	d := e.must(200, "GET", "/api/v1/tenants/ml/deployments/iris", tok, nil)
	rev := d.body["revisions"].([]any)[0].(map[string]any)
	if rev["name"] != "iris-r1" || rev["reason"] != why {
		t.Fatalf("revision: %s", d.raw)
	}
}
