package pipelines

import (
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// TestAStepsPodGetsTheGatewayAsFerryGateway: with the server's
// --gateway-internal-url, a step's pod gets it as FERRY_GATEWAY (as
// notebooks and jobs do); without it, none.
func TestAStepsPodGetsTheGatewayAsFerryGateway(t *testing.T) {
	t.Parallel()
	const gw = "http://ferry-gateway.ferry-system.svc:8081"
	in := StepPodInput{Tenant: "a", RunID: "0123456789ab", Row: "train", Attempt: 1, ChildRun: "c1",
		Step: v1.Step{Name: "train", Image: "ferry.local/workload:1", Command: []string{"python3", "train.py"}}}
	for _, c := range []struct {
		name string
		cfg  PodConfig
		want string
	}{
		{"gateway", PodConfig{Image: "ferry.local/platform:1", URL: "http://ferry.ferry-system.svc:8080", Gateway: gw}, gw},
		{"no gateway", PodConfig{Image: "ferry.local/platform:1", URL: "http://ferry.ferry-system.svc:8080"}, ""},
	} {
		pod, _, err := StepPod(c.cfg, in, "secret")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range pod.Spec.Containers[0].Env {
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
