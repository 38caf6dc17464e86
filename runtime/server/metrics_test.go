package server

import (
	"strings"
	"testing"
)

// TestMetricsServePlatformStateReadOnlyAndWithoutSecrets scrapes a real
// server (no Kubernetes: the controllers' vectors stay empty): the
// store's gauges and the API's route-labelled counters are there, the
// series labelled by tenant only for a platform admin, /metrics takes no
// writes, and neither tokens nor object or user names appear in it.
func TestMetricsServePlatformStateReadOnlyAndWithoutSecrets(t *testing.T) {
	t.Parallel()
	e := start(t)
	tok := e.must(201, "POST", "/api/v1/users", e.admin, map[string]any{"name": "alice"}).body["token"].(string)
	e.must(201, "POST", "/api/v1/tenants", e.admin, map[string]any{"name": "ml", "owner": "alice", "quota": map[string]any{"cpu": "4", "memory": "8Gi"}})
	e.must(201, "POST", "/api/v1/tenants/ml/jobs", tok, map[string]any{"name": "secret-project-x", "image": "busybox:1", "command": []string{"true"}})
	// Anonymous: the platform's series, none labelled by tenant.
	anon := e.must(200, "GET", "/metrics", "", nil).raw
	if strings.Contains(anon, `tenant="`) || !strings.Contains(anon, "go_goroutines") || !strings.Contains(anon, `ferry_http_requests_total{method="POST"`) {
		t.Errorf("anonymous /metrics shows tenants or lacks the platform's series:\n%.2000s", anon)
	}
	e.must(403, "GET", "/metrics", tok, nil)
	e.must(401, "GET", "/metrics", "ferry_not_a_token", nil)
	// A platform admin sees every series.
	m := e.must(200, "GET", "/metrics", e.admin, nil).raw
	for _, want := range []string{
		`ferry_jobs{state="queued",tenant="ml"} 1`,
		`ferry_tenant_quota{resource="cpu",tenant="ml"} 4`,
		`ferry_tenant_queued_jobs{tenant="ml"} 1`,
		`ferry_metrics_store_errors 0`,
		`ferry_http_requests_total{method="POST",route="/api/v1/tenants/{tenant}/jobs",status="201"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, leak := range []string{tok, e.admin, "secret-project-x", "alice"} {
		if strings.Contains(m, leak) {
			t.Errorf("metrics carry %q", leak)
		}
	}
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		e.must(405, method, "/metrics", e.admin, "x")
	}
}
