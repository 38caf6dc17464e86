package api

import (
	"strings"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

func TestStartupCPUDefaultsForSklearnWithinTheQuotaAndRefusesBadValues(t *testing.T) {
	custom := v1.DeploymentCreate{Name: "c", Model: "m/1", Runtime: v1.RuntimeCustom, Image: "example.org/serve:1"}
	sk := func(cpu, startup string) v1.DeploymentCreate {
		return v1.DeploymentCreate{Name: "s", Model: "m/1", Resources: v1.Resources{CPU: cpu}, StartupCPU: startup}
	}
	withStartup := func(b v1.DeploymentCreate, s string) v1.DeploymentCreate { b.StartupCPU = s; return b }
	for _, c := range []struct {
		name  string
		in    v1.DeploymentCreate
		quota string
		want  string
		err   string
	}{
		{"sklearn, the default cpu", sk("", ""), "4", "1", ""},
		{"sklearn, a quota smaller than the default", sk("250m", ""), "500m", "500m", ""},
		{"sklearn, a quota equal to the cpu: no boost", sk("500m", ""), "500m", "", ""},
		{"sklearn, a cpu of at least the default: no boost", sk("2", ""), "4", "", ""},
		{"custom: no boost by default", custom, "4", "", ""},
		{"custom, asked", withStartup(custom, "2"), "4", "2", ""},
		{"asked, within the quota", sk("250m", "1500m"), "4", "1500m", ""},
		{"asked, equal to the cpu", sk("250m", "0.25"), "4", "250m", ""},
		{"below the cpu", sk("1", "500m"), "4", "", "at least resources.cpu"},
		{"above the quota", sk("1", "8"), "4", "", "whole cpu quota"},
		{"not a quantity", sk("1", "lots"), "4", "", "body.startupCpu"},
		{"beyond any machine", sk("1", "100000"), "200000", "", "body.startupCpu"},
		{"negative", sk("1", "-1"), "4", "", "body.startupCpu"},
	} {
		spec, err := validateDeployment(c.in, store.Quota{CPU: c.quota, Memory: "64Gi"})
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "body.startupCpu")):
			t.Errorf("%s: %v, want an error on body.startupCpu with %q", c.name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && spec.StartupCPU != c.want:
			t.Errorf("%s: startupCpu %q, want %q", c.name, spec.StartupCPU, c.want)
		}
	}
}

func TestStartupCPUOverHTTPDefaultsAndIsChangedOrTurnedOffByAnUpdate(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, nil)
	tok := e.tenant("ml", "alice", map[string]any{"cpu": "4", "memory": "16Gi"})
	registerModel(t, e, "ml")
	base := "/api/v1/tenants/ml/deployments"
	spec := func(r reply) any { return r.body["spec"].(map[string]any)["startupCpu"] }
	d := e.must(201, "POST", base, tok, map[string]any{"name": "iris", "model": "iris/1", "resources": map[string]any{"cpu": "250m"}})
	if got := spec(d); got != "1" {
		t.Fatalf("created: startupCpu %v, want the sklearn default 1: %s", got, d.raw)
	}
	for _, c := range []struct{ value, why string }{{"8", "over the quota"}, {"100m", "below the cpu"}, {"lots", "not a quantity"}} {
		r := e.must(422, "PATCH", base+"/iris", tok, map[string]any{"startupCpu": c.value})
		if got := problemAt(t, r); got != "body.startupCpu" {
			t.Errorf("%s: location %s: %s", c.why, got, r.raw)
		}
	}
	if got := spec(e.must(200, "GET", base+"/iris", tok, nil)); got != "1" {
		t.Errorf("a refused update changed startupCpu to %v", got)
	}
	if got := spec(e.must(200, "PATCH", base+"/iris", tok, map[string]any{"startupCpu": "2"})); got != "2" {
		t.Errorf("updated to 2: %v", got)
	}
	if got := spec(e.must(200, "PATCH", base+"/iris", tok, map[string]any{"startupCpu": ""})); got != nil {
		t.Errorf("turned off: %v, want none", got)
	}
	if got := spec(e.must(200, "PATCH", base+"/iris", tok, map[string]any{"min": 0})); got != nil {
		t.Errorf("an update without startupCpu changed it: %v", got)
	}
}
