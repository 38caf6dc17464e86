package platform

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ferry-ml/ferry/bootstrap/kind"
)

func TestParseGPUMode(t *testing.T) {
	t.Parallel()
	good := map[string]GPUMode{"off": {Mode: "off"}, "auto": {Mode: "auto"}, "nvidia": {Mode: "nvidia"}, "fake": {Mode: "fake", Count: 2}, "fake:8": {Mode: "fake", Count: 8}}
	for in, want := range good {
		got, err := ParseGPUMode(in)
		if err != nil || got != want {
			t.Errorf("ParseGPUMode(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "on", "fake:0", "fake:129", "fake:x", "auto:2", "FAKE"} {
		if _, err := ParseGPUMode(in); err == nil || !strings.Contains(err.Error(), "--gpu") {
			t.Errorf("ParseGPUMode(%q) accepted or unclear: %v", in, err)
		}
	}
}

func TestDetectNVIDIARunsNvidiaSMIAndParsesItsCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	smi := filepath.Join(dir, "nvidia-smi")
	// A stand-in that checks it was asked the CSV query and answers as the real one does.
	script := "#!/bin/sh\n[ \"$1 $2\" = \"" + strings.Join(SMIQuery, " ") + "\" ] || { echo bad args: \"$@\" >&2; exit 9; }\n" +
		"printf '0, NVIDIA H200, 143771, GPU-1111\\n1, NVIDIA H200, 143771, GPU-2222\\n'\n"
	if err := os.WriteFile(smi, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	gpus, err := DetectNVIDIA(context.Background(), smi)
	if err != nil {
		t.Fatal(err)
	}
	if len(gpus) != 2 || gpus[1] != (HostGPU{Index: 1, Name: "NVIDIA H200", MemoryMiB: 143771, UUID: "GPU-2222"}) {
		t.Fatalf("gpus %+v", gpus)
	}
	broken := filepath.Join(dir, "broken-smi")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver' >&2\nexit 9\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := DetectNVIDIA(context.Background(), broken); err == nil || !strings.Contains(err.Error(), "NVIDIA driver") {
		t.Fatalf("a failing nvidia-smi: %v", err)
	}
}

func TestParseSMIRefusesMalformedLines(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"0, A100\n", "x, A100, 40960, GPU-1\n", "0, A100, lots, GPU-1\n"} {
		if _, err := ParseSMI([]byte(in)); err == nil {
			t.Errorf("ParseSMI(%q) accepted", in)
		}
	}
	if gpus, err := ParseSMI(nil); err != nil || len(gpus) != 0 {
		t.Errorf("empty output: %v %v", gpus, err)
	}
}

func node(name, providerID string, cp bool, gpus int64, addrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}, Spec: corev1.NodeSpec{ProviderID: providerID}}
	if cp {
		n.Labels["node-role.kubernetes.io/control-plane"] = ""
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	if gpus > 0 {
		n.Status.Allocatable[GPUResource] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	for _, a := range addrs {
		typ := corev1.NodeInternalIP
		if strings.HasPrefix(a, "ext:") {
			typ, a = corev1.NodeExternalIP, strings.TrimPrefix(a, "ext:")
		}
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: typ, Address: a})
	}
	return n
}

func TestKindClusterIsFoundFromProviderIDs(t *testing.T) {
	t.Parallel()
	a := node("a", "kind://docker/second/a", true, 0)
	b := node("b", "kind://docker/second/b", false, 0)
	if got := kindClusterOf([]corev1.Node{*a, *b}); got != "second" {
		t.Errorf("got %q", got)
	}
	c := node("c", "kind://docker/other/c", false, 0)
	d := node("d", "aws:///eu-west-1a/i-0abc", false, 0)
	for _, ns := range [][]corev1.Node{{*a, *c}, {*a, *d}, {*d}} {
		if got := kindClusterOf(ns); got != "" {
			t.Errorf("mixed or foreign nodes gave %q", got)
		}
	}
}

func TestMissingImageNamesTheNodesWithout(t *testing.T) {
	t.Parallel()
	a, b := node("a", "", true, 0), node("b", "", false, 0)
	a.Status.Images = []corev1.ContainerImage{{Names: []string{"ferry.local/ferry:v1-abc", "sha256:00"}}}
	b.Status.Images = []corev1.ContainerImage{{Names: []string{"ferry.local/ferry:v0-old"}}}
	if got := missingImage([]corev1.Node{*a, *b}, "ferry.local/ferry:v1-abc"); len(got) != 1 || got[0] != "b" {
		t.Errorf("missing on %v, want [b]", got)
	}
}

func TestServerURLFindsTheNodeAddressThatAnswers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	// 192.0.2.1 (TEST-NET-1) never answers; 127.0.0.1 does.
	cs := fake.NewClientset(
		node("worker", "", false, 0, "127.0.0.1"),
		node("cp", "", true, 0, "ext:192.0.2.1", "10.0.0.9"),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: PlatformRelease, Namespace: Namespace},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Name: "http", Port: 8080, NodePort: int32(port)}}}},
	)
	got, err := serverURL(context.Background(), cs, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://127.0.0.1:" + portStr; got != want {
		t.Fatalf("url %s, want %s", got, want)
	}
	nodes, _ := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if addrs := nodeAddresses(nodes.Items); strings.Join(addrs, ",") != "192.0.2.1,10.0.0.9,127.0.0.1" {
		t.Errorf("address order %v: control plane first, external before internal", addrs)
	}
}

// TestALocalClustersMappedPortIsTheOnlyWayIn: with a loopback port the
// server is reached there, never at a node address (Docker Desktop cannot
// route to them), and a port that does not answer is an error naming it.
func TestALocalClustersMappedPortIsTheOnlyWayIn(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" && r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	// The node answers too, on the Service's node port: it must not be asked.
	cs := fake.NewClientset(node("cp", "", true, 0, "127.0.0.1"),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: PlatformRelease, Namespace: Namespace},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Name: "http", Port: 8080, NodePort: int32(port)}}}})
	got, err := serverURL(t.Context(), cs, true, port)
	if err != nil || got != "http://127.0.0.1:"+portStr {
		t.Fatalf("server at the mapped port: %q %v", got, err)
	}
	if got, err := gatewayURL(t.Context(), cs, port); err != nil || got != "http://127.0.0.1:"+portStr {
		t.Fatalf("gateway at the mapped port: %q %v", got, err)
	}
	if n := len(cs.Actions()); n != 0 {
		t.Errorf("with a mapped port, the API server was asked %d things (nodes, services): %v", n, cs.Actions())
	}
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := free.Addr().(*net.TCPAddr).Port
	_ = free.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := serverURL(ctx, cs, true, closed); err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(closed)) {
		t.Errorf("a mapped port that does not answer: %v, want an error naming it", err)
	}
}

func TestTheServicesTakeTheMappedNodePortsOnlyWhereTheyAreMapped(t *testing.T) {
	t.Parallel()
	nodePort := func(v map[string]any) any { return v["service"].(map[string]any)["nodePort"] }
	gw := func(v map[string]any) map[string]any { return v["gateway"].(map[string]any) }
	v := serviceValues(loopback{server: 40001, gateway: 40002})
	if nodePort(v) != kind.ServerNodePort || nodePort(gw(v)) != kind.GatewayNodePort {
		t.Errorf("mapped: %v", v)
	}
	v = serviceValues(loopback{})
	if nodePort(v) != nil || nodePort(gw(v)) != nil || v["service"].(map[string]any)["type"] != "NodePort" {
		t.Errorf("not mapped (remote, or an older local cluster): %v, want NodePort chosen by Kubernetes", v)
	}
}

func TestAdminTokenIsReadFromTheSecret(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: AdminTokenSecret, Namespace: Namespace},
		Data: map[string][]byte{"token": []byte("ferry_abc\n")}})
	tok, err := waitAdminToken(context.Background(), cs, 0)
	if err != nil || tok != "ferry_abc" {
		t.Fatalf("token %q %v", tok, err)
	}
	if _, err := waitAdminToken(context.Background(), fake.NewClientset(), 0); err == nil || !strings.Contains(err.Error(), AdminTokenSecret) {
		t.Fatalf("missing secret: %v", err)
	}
}

func TestAutoGPUOnARemoteClusterFollowsItsNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := Options{GPU: GPUMode{Mode: GPUAuto}}
	plain := fake.NewClientset(node("a", "", true, 0))
	if mode, why, err := resolveMode(ctx, plain, o, false); err != nil || mode != "" || why == "" {
		t.Errorf("no GPU nodes: %q %q %v", mode, why, err)
	}
	labelled := node("g", "", false, 0)
	labelled.Labels["nvidia.com/gpu.present"] = "true"
	if mode, _, err := resolveMode(ctx, fake.NewClientset(node("a", "", true, 0), labelled), o, false); err != nil || mode != GPUNVIDIA {
		t.Errorf("a labelled GPU node: %q %v", mode, err)
	}
	own := fake.NewClientset(node("a", "", true, 4), labelled)
	if mode, why, err := resolveMode(ctx, own, o, false); err != nil || mode != "" || !strings.Contains(why, "already advertises") {
		t.Errorf("a cluster with its own device plugin: %q %q %v", mode, why, err)
	}
	if mode, _, _ := resolveMode(ctx, plain, Options{GPU: GPUMode{Mode: GPUFake, Count: 2}}, false); mode != GPUFake {
		t.Errorf("an explicit mode is kept: %q", mode)
	}
	if mode, why, _ := resolveMode(ctx, plain, o, true); mode != "" || !strings.Contains(why, "kept") {
		t.Errorf("auto must leave an installed release alone: %q %q", mode, why)
	}
}

func TestALocalClustersGPUsComeFromItsCDIPlanAndRunTheCDIChart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain := fake.NewClientset(node("a", "", true, 0))
	local := Options{Target: Target{KindCluster: "ferry"}, GPU: GPUMode{Mode: GPUFake, Count: 2, CDIKind: "ferry.io/gpu", Why: "fake CDI vendor"}}
	if mode, chart, why, err := resolveGPU(ctx, plain, local, true); err != nil || mode != GPUFake || chart != "cdi" || why != "fake CDI vendor" {
		t.Errorf("fake on a local cluster: %q %q %q %v, want fake through the cdi chart", mode, chart, why, err)
	}
	local.GPU = GPUMode{Mode: GPUAuto, CDIKind: "nvidia.com/gpu", Why: "nvidia-smi lists 1 GPU(s)"}
	if mode, chart, _, err := resolveGPU(ctx, plain, local, false); err != nil || mode != GPUNVIDIA || chart != "cdi" {
		t.Errorf("host GPUs on a local cluster: %q %q %v, want nvidia through the cdi chart", mode, chart, err)
	}
	// auto where the host had none: nothing, and the host's reason.
	local.GPU = GPUMode{Mode: GPUAuto, Why: "no NVIDIA GPU on this machine"}
	if mode, chart, why, err := resolveGPU(ctx, plain, local, false); err != nil || mode != "" || chart != "" || why != "no NVIDIA GPU on this machine" {
		t.Errorf("no host GPU: %q %q %q %v", mode, chart, why, err)
	}
	// A remote cluster keeps NVIDIA's plugin, or the synthetic fake one.
	if _, chart, _, _ := resolveGPU(ctx, plain, Options{GPU: GPUMode{Mode: GPUFake, Count: 2}}, false); chart != GPUFake {
		t.Errorf("fake on a remote cluster renders the %q chart, want fake", chart)
	}
}

func TestNetworkProblemsAreTheAgentsNotEnforcedEventsOncePerPolicyAndNode(t *testing.T) {
	t.Parallel()
	ev := func(name, ns, policy, node, reason, msg string) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Reason: reason, Message: msg,
			InvolvedObject: corev1.ObjectReference{Kind: "NetworkPolicy", Namespace: ns, Name: policy}, Source: corev1.EventSource{Host: node}}
	}
	cs := fake.NewClientset(
		ev("e1", "team-a", "v6", "n2", "NotEnforced", "ipBlock fd00::/64: only IPv4"),
		ev("e2", "team-a", "v6", "n1", "NotEnforced", "ipBlock fd00::/64: only IPv4"),
		ev("e3", "team-a", "v6", "n1", "NotEnforced", "ipBlock fd00::/64: only IPv4"), // the same again
		ev("e4", "team-b", "ok", "n1", "Created", "unrelated"),
	)
	got, err := networkProblems(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	want := []NetworkProblem{{"team-a/v6", "n1", "ipBlock fd00::/64: only IPv4"}, {"team-a/v6", "n2", "ipBlock fd00::/64: only IPv4"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("problems = %v, want %v", got, want)
	}
}

func TestThePlatformImageIsForTheNodesOneArchitecture(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	arm, amd := node("a", "", true, 0), node("b", "", false, 0)
	arm.Status.NodeInfo.Architecture, amd.Status.NodeInfo.Architecture = "arm64", "amd64"
	if got, err := nodeArch(ctx, fake.NewClientset(arm)); err != nil || got != "arm64" {
		t.Errorf("arm64 nodes: %q %v", got, err)
	}
	if _, err := nodeArch(ctx, fake.NewClientset(arm, amd)); err == nil || !strings.Contains(err.Error(), "amd64, arm64") {
		t.Errorf("mixed nodes: %v, want an error naming both", err)
	}
	if got, err := nodeArch(ctx, fake.NewClientset(node("c", "", true, 0))); err != nil || got != runtime.GOARCH {
		t.Errorf("a node that reports none yet: %q %v, want this machine's", got, err)
	}
}
