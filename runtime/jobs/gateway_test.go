package jobs

import (
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// TestAJobsPodsGetTheGatewayAsFerryGateway: with the server's
// --gateway-internal-url, a job's pods get it as FERRY_GATEWAY (as notebooks
// do), tracked or not; without it, they get none.
func TestAJobsPodsGetTheGatewayAsFerryGateway(t *testing.T) {
	t.Parallel()
	const gw = "http://ferry-gateway.ferry-system.svc:8081"
	tracked := job(3, "a", "train", 2, "1", "1Gi", 0)
	tracked.RunID = "r1"
	for _, c := range []struct {
		name string
		tr   Tracking
		want string
	}{
		{"tracked", Tracking{URL: "http://ferry.ferry-system.svc:8080", Gateway: gw}, gw},
		{"untracked", Tracking{Gateway: gw}, gw},
		{"no gateway", Tracking{URL: "http://ferry.ferry-system.svc:8080"}, ""},
	} {
		_, kj, err := Objects(tracked, true, c.tr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range kj.Spec.Template.Spec.Containers[0].Env {
			if e.Name == v1.EnvGateway {
				got = append(got, e.Value)
			}
		}
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s: %s = %q, want it unset", c.name, v1.EnvGateway, got)
		case c.want != "" && (len(got) != 1 || got[0] != c.want):
			t.Errorf("%s: %s = %q, want exactly %q", c.name, v1.EnvGateway, got, c.want)
		}
	}
}
