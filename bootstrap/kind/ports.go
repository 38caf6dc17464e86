package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/ferry-ml/ferry/internal/shell"
)

// A local cluster's control-plane node maps the platform's node ports to
// 127.0.0.1 on this machine, on ports kind chooses free when it creates
// the cluster: the CLI reaches the control plane (and through it the
// notebooks and the dashboard) and the serving gateway there, never at a
// node address. Docker Desktop (macOS, Windows) cannot route to node
// addresses at all, so Linux takes the same path and the e2e tests it.
const (
	// ServerNodePort is the control plane's Service node port in a local cluster.
	ServerNodePort int32 = 30080
	// GatewayNodePort is the serving gateway's.
	GatewayNodePort int32 = 30081
)

// LoopbackAddress is where the mapped ports listen: this machine only.
const LoopbackAddress = "127.0.0.1"

// portMappings are the control-plane node's: each node port on a free
// loopback port (HostPort 0: kind picks one).
func portMappings() []v1alpha4.PortMapping {
	var out []v1alpha4.PortMapping
	for _, p := range []int32{ServerNodePort, GatewayNodePort} {
		out = append(out, v1alpha4.PortMapping{ContainerPort: p, HostPort: 0, ListenAddress: LoopbackAddress, Protocol: v1alpha4.PortMappingProtocolTCP})
	}
	return out
}

// HostPort is the port on LoopbackAddress that reaches nodePort of cluster
// name's control-plane node; 0 when none is mapped (a cluster made before
// ferry mapped its ports: recreate it with `ferry down` and `ferry up`).
func HostPort(ctx context.Context, docker, name string, nodePort int32) (int, error) {
	if docker == "" {
		docker = "docker"
	}
	out, err := shell.Command(docker, "inspect", "--format", "{{json .HostConfig.PortBindings}}", name+"-control-plane").Output(ctx)
	if err != nil {
		return 0, fmt.Errorf("the port mappings of cluster %s: %w", name, err)
	}
	return hostPortIn([]byte(out), nodePort)
}

// hostPortIn reads nodePort's loopback host port from a container's
// HostConfig.PortBindings ({"30080/tcp": [{"HostIp": ..., "HostPort": ...}]}).
func hostPortIn(bindings []byte, nodePort int32) (int, error) {
	var b map[string][]struct{ HostIP, HostPort string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(bindings))), &b); err != nil {
		return 0, fmt.Errorf("port bindings %.100q: %w", bindings, err)
	}
	for _, hb := range b[strconv.Itoa(int(nodePort))+"/tcp"] {
		if hb.HostIP != LoopbackAddress {
			continue
		}
		p, err := strconv.Atoi(hb.HostPort)
		if err != nil || p <= 0 || p > 65535 {
			return 0, fmt.Errorf("node port %d is bound to host port %q", nodePort, hb.HostPort)
		}
		return p, nil
	}
	return 0, nil
}
