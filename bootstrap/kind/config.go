package kind

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// Config returns the kind cluster configuration ferry uses. ferryNode is true
// for node images built by ferry (they bring their own pod network agent, so
// kind's default CNI, whose image cannot be built offline, is disabled).
// The control-plane node maps the platform's node ports to loopback ports
// of this machine (see ServerNodePort). mounts[i] are node i's extra mounts
// (0 is the control plane, then the workers), such as the CDI specs and
// driver files that hand it GPUs.
func Config(name string, workers int, ferryNode bool, mounts [][]v1alpha4.Mount) *v1alpha4.Cluster {
	c := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     name,
		Nodes:    []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, ExtraPortMappings: portMappings()}},
		// Hosts with cgroup v1 (such as these CI machines) need failCgroupV1
		// since kubelet 1.35. maxPods: each node's pod CIDR is a /24 (254
		// addresses), so 250 pods fit where the default 110 stops a laptop's
		// two nodes short of a few hundred small pods.
		KubeadmConfigPatches: []string{"kind: KubeletConfiguration\nfailCgroupV1: false\nmaxPods: 250\n"},
	}
	for i := 0; i < workers; i++ {
		c.Nodes = append(c.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole})
	}
	for i := range c.Nodes {
		if i < len(mounts) {
			c.Nodes[i].ExtraMounts = mounts[i]
		}
	}
	if ferryNode {
		c.Networking.DisableDefaultCNI = true
		c.Networking.KubeProxyMode = v1alpha4.NFTablesProxyMode
	}
	return c
}

// ConfigYAML is Config as YAML (what `ferry up --dry-run` prints and the golden tests pin).
func ConfigYAML(name string, workers int, ferryNode bool, mounts [][]v1alpha4.Mount) ([]byte, error) {
	return yaml.Marshal(Config(name, workers, ferryNode, mounts))
}

// NodeName is the name kind gives node i of cluster name (0 is the control
// plane; workers are name-worker, name-worker2, ...).
func NodeName(name string, i int) string {
	switch i {
	case 0:
		return name + "-control-plane"
	case 1:
		return name + "-worker"
	}
	return fmt.Sprintf("%s-worker%d", name, i)
}

// nameRE is what ferry accepts as a local cluster's name: a DNS label,
// which kind's own rule (^[a-z0-9.-]+$) narrows, so that a name is never a
// path (".." would make GPUDir a parent directory).
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$`)

// ValidName checks a local cluster's name.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("cluster name %q: want lower-case letters, digits and '-', starting and ending with a letter or digit, at most 50 characters", name)
	}
	return nil
}

// GPUDir is where the host keeps what cluster name's nodes mount to get
// GPUs (CDI specs, fake devices); Down removes it.
func GPUDir(name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("GPU files of cluster %s: %w", name, err)
	}
	return filepath.Join(dir, "ferry", "gpu", name), nil
}
