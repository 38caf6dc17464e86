package nodeimage

// Pinned versions of everything the node image is made of.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.7.3"
	CoreDNSVersion    = "v1.14.6"
	CrictlVersion     = "v1.37.0"
	LocalPathVersion  = "v0.0.30"
	// ContainerdVersion is built from its Go module: Debian bookworm's
	// containerd (1.6) has no CDI, which GPUs in kind nodes need.
	ContainerdVersion = "v2.4.2"
	DebianSuite       = "bookworm"

	// Image tags kubeadm v1.37 expects for its components.
	etcdImageTag  = "3.7.0-0"
	pauseImageTag = "3.10.2"

	// recipe changes whenever the build steps change in a way the hashed
	// inputs do not show; bumping it forces a rebuild.
	recipe = "ferry-node-2"

	// Repository is where built node images are tagged.
	Repository = "ferry/node"
	// InputsLabel on a node image holds the full input hash.
	InputsLabel = "io.ferry.node.inputs"
)

// debPackages go into the node's root filesystem.
var debPackages = []string{
	"systemd", "systemd-sysv", "dbus", "runc", "iptables", "nftables", "conntrack", "socat",
	"ethtool", "iproute2", "util-linux", "mount", "kmod", "procps", "ca-certificates", "bash",
	"containernetworking-plugins", "jq", "libseccomp2", "pigz", "e2fsprogs", "curl", "ebtables",
	"iputils-ping", "less", "findutils", "libnss-systemd",
}

// kubeBinaries are built from k8s.io/kubernetes/cmd/<name>.
var kubeBinaries = []string{"kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}

// containerdLDFlags stamps containerd's version the way its release build does.
const containerdLDFlags = "-X github.com/containerd/containerd/v2/version.Version=" + ContainerdVersion

// nodeBinaries go into the node's /usr/local/bin.
var nodeBinaries = []string{"kubeadm", "kubelet", "kubectl", "crictl", "containerd", "containerd-shim-runc-v2", "ctr"}

// goInstalls are built with `go install module@version` into the bin cache,
// with ldflags beside -s -w.
var goInstalls = []struct{ bin, pkg, ldflags string }{
	{"containerd", "github.com/containerd/containerd/v2/cmd/containerd@" + ContainerdVersion, containerdLDFlags},
	{"containerd-shim-runc-v2", "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@" + ContainerdVersion, containerdLDFlags},
	{"ctr", "github.com/containerd/containerd/v2/cmd/ctr@" + ContainerdVersion, containerdLDFlags},
	{"coredns", "github.com/coredns/coredns@" + CoreDNSVersion, ""},
	{"crictl", "sigs.k8s.io/cri-tools/cmd/crictl@" + CrictlVersion, ""},
	{"local-path-provisioner", "github.com/rancher/local-path-provisioner@" + LocalPathVersion, ""},
}

// componentImage is one image preloaded into the node's containerd.
type componentImage struct {
	ref        string // exactly as kubeadm or the manifests expect it
	bin        string // binary from the bin cache
	path       string // where it goes in the image
	entrypoint bool   // whether the binary is the image's entrypoint
}

var componentImages = []componentImage{
	{"registry.k8s.io/kube-apiserver:" + KubernetesVersion, "kube-apiserver", "/usr/local/bin/kube-apiserver", false},
	{"registry.k8s.io/kube-controller-manager:" + KubernetesVersion, "kube-controller-manager", "/usr/local/bin/kube-controller-manager", false},
	{"registry.k8s.io/kube-scheduler:" + KubernetesVersion, "kube-scheduler", "/usr/local/bin/kube-scheduler", false},
	{"registry.k8s.io/etcd:" + etcdImageTag, "etcd", "/usr/local/bin/etcd", false},
	{"registry.k8s.io/coredns/coredns:" + CoreDNSVersion, "coredns", "/coredns", true},
	{"registry.k8s.io/pause:" + pauseImageTag, "pause", "/pause", true},
	{"ferry.local/local-path-provisioner:" + LocalPathVersion, "local-path-provisioner", "/usr/local/bin/local-path-provisioner", true},
}

const (
	kubeProxyImage = "registry.k8s.io/kube-proxy:" + KubernetesVersion
	// BusyboxImage is the small shell image the storage helper and tests use.
	BusyboxImage = "ferry.local/busybox:1"
)
