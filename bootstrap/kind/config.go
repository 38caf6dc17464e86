package kind

import (
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// Config returns the kind cluster configuration ferry uses. ferryNode is true
// for node images built by ferry (they bring their own pod network agent, so
// kind's default CNI, whose image cannot be built offline, is disabled).
// The control-plane node maps the platform's node ports to loopback ports
// of this machine (see ServerNodePort).
func Config(name string, workers int, ferryNode bool) *v1alpha4.Cluster {
	c := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     name,
		Nodes:    []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, ExtraPortMappings: portMappings()}},
		// Hosts with cgroup v1 (such as these CI machines) need this since kubelet 1.35.
		KubeadmConfigPatches: []string{"kind: KubeletConfiguration\nfailCgroupV1: false\n"},
	}
	for i := 0; i < workers; i++ {
		c.Nodes = append(c.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole})
	}
	if ferryNode {
		c.Networking.DisableDefaultCNI = true
		c.Networking.KubeProxyMode = v1alpha4.NFTablesProxyMode
	}
	return c
}

// ConfigYAML is Config as YAML (what `ferry up --dry-run` prints and the golden tests pin).
func ConfigYAML(name string, workers int, ferryNode bool) ([]byte, error) {
	return yaml.Marshal(Config(name, workers, ferryNode))
}
