package kind

import (
	"strings"
	"testing"
)

func TestHostPortReadsTheLoopbackBindingOfANodePort(t *testing.T) {
	t.Parallel()
	bindings := `{"30080/tcp":[{"HostIp":"127.0.0.1","HostPort":"41234"}],"30081/tcp":[{"HostIp":"0.0.0.0","HostPort":"5000"},{"HostIp":"127.0.0.1","HostPort":"41235"}],"6443/tcp":[{"HostIp":"127.0.0.1","HostPort":"39999"}]}` + "\n"
	for nodePort, want := range map[int32]int{ServerNodePort: 41234, GatewayNodePort: 41235, 31000: 0} {
		got, err := hostPortIn([]byte(bindings), nodePort)
		if err != nil || got != want {
			t.Errorf("node port %d: %d %v, want %d", nodePort, got, err, want)
		}
	}
	// A cluster made before ferry mapped its ports: none, no error.
	if got, err := hostPortIn([]byte(`{"6443/tcp":[{"HostIp":"127.0.0.1","HostPort":"39999"}]}`), ServerNodePort); got != 0 || err != nil {
		t.Errorf("no mapping: %d %v, want 0 and no error", got, err)
	}
	for _, bad := range []string{`{"30080/tcp":[{"HostIp":"127.0.0.1","HostPort":"x"}]}`, `{"30080/tcp":[{"HostIp":"127.0.0.1","HostPort":"70000"}]}`, `not json`} {
		if _, err := hostPortIn([]byte(bad), ServerNodePort); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestTheControlPlaneNodeMapsThePlatformsNodePortsToLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, ferryNode := range []bool{true, false} {
		c := Config("ferry", 2, ferryNode, nil)
		got := map[int32]string{}
		for i, n := range c.Nodes {
			if i > 0 && len(n.ExtraPortMappings) > 0 {
				t.Errorf("worker %d maps ports: %+v", i, n.ExtraPortMappings)
			}
			for _, m := range n.ExtraPortMappings {
				if m.HostPort != 0 {
					t.Errorf("node port %d on fixed host port %d: two clusters would collide", m.ContainerPort, m.HostPort)
				}
				got[m.ContainerPort] = m.ListenAddress
			}
		}
		if len(got) != 2 || got[ServerNodePort] != LoopbackAddress || got[GatewayNodePort] != LoopbackAddress {
			t.Errorf("ferry node %v: mappings %v, want both node ports on %s", ferryNode, got, LoopbackAddress)
		}
	}
	if y, _ := ConfigYAML("ferry", 0, true, nil); !strings.Contains(string(y), "listenAddress: 127.0.0.1") {
		t.Errorf("the YAML has no loopback mapping:\n%s", y)
	}
}
