package api

import (
	"strings"
	"testing"
)

// TestNamesThatWouldTakeFerrysObjectNamesAreRefusedAndStoreNothing proves
// that a job, deployment or tuning whose Kubernetes objects would be named
// like a notebook's (nb-), a pipeline step's (fp-), ferry's own (ferry-)
// or a deployment revision's (<deployment>-r<N>) is a 422 naming the field,
// with no row and no ok audit row, while names that merely look alike pass.
func TestNamesThatWouldTakeFerrysObjectNamesAreRefusedAndStoreNothing(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "8", "memory": "16Gi"})
	registerModel(t, e, "ml")
	jobs, deployments, tunings := "/api/v1/tenants/ml/jobs", "/api/v1/tenants/ml/deployments", "/api/v1/tenants/ml/tunings"
	job := func(name string) map[string]any {
		return map[string]any{"name": name, "image": "busybox:1", "command": []string{"true"}}
	}
	deployment := func(name string) map[string]any { return map[string]any{"name": name, "model": "iris/1"} }
	tuning := func(name string) map[string]any {
		return map[string]any{"yaml": strings.Replace(tuningYAML, "name: svm", "name: "+name, 1)}
	}
	var last int64
	for _, a := range e.audit() {
		last = max(last, a.ID)
	}
	for _, c := range []struct {
		what, path string
		body       map[string]any
		field      string
	}{
		{"job nb-x, a notebook's Service", jobs, job("nb-x"), "body.name"},
		{"job fp-x, a step's pod", jobs, job("fp-0123456789-train-0"), "body.name"},
		{"job ferry-x, ferry's own", jobs, job("ferry-workload"), "body.name"},
		{"job iris-r1, a revision's Service", jobs, job("iris-r1"), "body.name"},
		{"job x-r12", jobs, job("x-r12"), "body.name"},
		{"deployment nb-x, whose revision nb-x-r1 is notebook x-r1's", deployments, deployment("nb-x"), "body.name"},
		{"deployment fp-x", deployments, deployment("fp-x"), "body.name"},
		{"deployment ferry-x", deployments, deployment("ferry-serve"), "body.name"},
		{"tuning nb-x, whose trials are jobs nb-x-t<N>", tunings, tuning("nb-x"), "body.yaml.name"},
		{"tuning fp-x", tunings, tuning("fp-x"), "body.yaml.name"},
		{"tuning ferry-x", tunings, tuning("ferry-x"), "body.yaml.name"},
	} {
		r := e.do("POST", c.path, tok, c.body)
		if r.status != 422 || !strings.Contains(r.raw, "reserved") {
			t.Errorf("%s: %d, want 422 saying reserved: %.400s", c.what, r.status, r.raw)
			continue
		}
		if got := problemAt(t, r); got != c.field {
			t.Errorf("%s: location %s, want %s: %.400s", c.what, got, c.field, r.raw)
		}
	}
	for _, p := range []string{jobs, deployments, tunings} {
		if l := e.must(200, "GET", p, tok, nil); len(l.body["items"].([]any)) != 0 {
			t.Errorf("a refused name was stored under %s: %.400s", p, l.raw)
		}
	}
	for _, a := range e.audit() {
		if a.ID > last && a.Result == "ok" {
			t.Errorf("a refused create wrote an ok audit row: %+v", a)
		}
	}

	for _, name := range []string{"nbx", "fpga", "ferryboat", "x-r", "x-r1x", "r1", "x-t1"} {
		e.must(201, "POST", jobs, tok, job(name))
	}
	e.must(201, "POST", deployments, tok, deployment("iris-r1"))
	e.must(201, "POST", tunings, tok, tuning("svm-r1"))
}
