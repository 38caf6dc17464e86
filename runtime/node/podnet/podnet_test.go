package podnet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name, cidr, ip string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr}}
	if ip != "" {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}
	}
	return n
}

func TestDesiredRoutesGoToTheOtherNodesPodCIDRs(t *testing.T) {
	t.Parallel()
	nodes := []*corev1.Node{
		node("w2", "10.244.2.0/24", "172.18.0.4"),
		node("cp", "10.244.0.0/24", "172.18.0.2"),
		node("w1", "10.244.1.0/24", "172.18.0.3"),
		node("new", "", "172.18.0.5"),       // no pod CIDR yet
		node("v6", "fd00::/64", "fc00::2"),  // not IPv4
		node("noaddr", "10.244.9.0/24", ""), // no InternalIP yet
	}
	mine, routes := Desired(nodes, "cp")
	if mine.String() != "10.244.0.0/24" {
		t.Errorf("own pod CIDR = %v", mine)
	}
	got := fmt.Sprint(routes)
	if want := "[{10.244.1.0/24 172.18.0.3} {10.244.2.0/24 172.18.0.4}]"; got != want {
		t.Errorf("routes = %s, want %s", got, want)
	}
	if mine, _ := Desired(nodes, "new"); mine.IsValid() {
		t.Errorf("a node without a pod CIDR got %v", mine)
	}
}

func TestConflistIsAPtpNetworkForThePodCIDR(t *testing.T) {
	t.Parallel()
	var conf struct {
		CNIVersion string `json:"cniVersion"`
		Plugins    []struct {
			Type string `json:"type"`
			IPAM struct {
				Type   string                `json:"type"`
				Ranges [][]map[string]string `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(Conflist(netip.MustParsePrefix("10.244.3.0/24")), &conf); err != nil {
		t.Fatal(err)
	}
	if len(conf.Plugins) != 2 || conf.Plugins[0].Type != "ptp" || conf.Plugins[1].Type != "portmap" {
		t.Fatalf("plugins = %+v", conf.Plugins)
	}
	if ipam := conf.Plugins[0].IPAM; ipam.Type != "host-local" || ipam.Ranges[0][0]["subnet"] != "10.244.3.0/24" {
		t.Errorf("ipam = %+v", ipam)
	}
}

func TestParseRoutesReadsIPJSON(t *testing.T) {
	t.Parallel()
	out := `[{"dst":"10.244.1.0/24","gateway":"172.18.0.3","dev":"eth0","protocol":"243","flags":[]},{"dst":"10.9.9.9","gateway":"172.18.0.9","flags":[]}]`
	routes, err := ParseRoutes([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(routes); got != "[{10.244.1.0/24 172.18.0.3} {10.9.9.9/32 172.18.0.9}]" {
		t.Errorf("routes = %s", got)
	}
	if _, err := ParseRoutes([]byte(`[{"dst":"nonsense"}]`)); err == nil {
		t.Error("a malformed destination was accepted")
	}
	if r, err := ParseRoutes([]byte("\n")); err != nil || r != nil {
		t.Errorf("empty output: %v %v", r, err)
	}
}

func TestLookPathFindsTheNodesProgramsUnderTheRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/sbin/nft"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := lookPath(root, "nft"); err != nil || p != "/usr/sbin/nft" {
		t.Errorf("lookPath nft = %q, %v", p, err)
	}
	if _, err := lookPath(root, "ip"); err == nil || !strings.Contains(err.Error(), "ip is not installed on the node") {
		t.Errorf("a missing program: %v", err)
	}
}

// TestSyncProgramsAKernel runs the agent's Sync against a fresh network
// namespace: the routes of the other nodes appear (and only those, with
// the agent's protocol), a departed node's route goes, a route nobody owns
// stays, the masquerade table loads, and the CNI config is written once.
func TestSyncProgramsAKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	ns := fmt.Sprintf("fpn%d", os.Getpid()%100000)
	sh := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	sh("ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
	sh("ip", "-n", ns, "link", "set", "eth1", "up")
	sh("ip", "-n", ns, "link", "set", "eth0", "up")
	sh("ip", "-n", ns, "addr", "add", "172.18.0.2/16", "dev", "eth0")
	sh("ip", "-n", ns, "route", "add", "10.99.0.0/24", "via", "172.18.0.77")                         // someone else's
	sh("ip", "-n", ns, "route", "add", "10.244.7.0/24", "via", "172.18.0.7", "proto", RouteProtocol) // a stale one of ours

	host := HostExec("")
	inNS := func(ctx context.Context, stdin, name string, args ...string) ([]byte, error) {
		return host(ctx, stdin, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	}
	sysctl := t.TempDir()
	if err := os.MkdirAll(filepath.Join(sysctl, "net/ipv4"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sysctl, "net/ipv4/ip_forward"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &Agent{Node: "cp", ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), ConfDir: filepath.Join(t.TempDir(), "net.d"),
		Exec: inNS, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Sysctl: sysctl}
	ctx := context.Background()
	nodes := []*corev1.Node{node("cp", "10.244.0.0/24", "172.18.0.2"), node("w1", "10.244.1.0/24", "172.18.0.3"), node("w2", "10.244.2.0/24", "172.18.0.4")}
	if err := a.Sync(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	routes := sh("ip", "-n", ns, "-4", "route", "show")
	for _, want := range []string{"10.244.1.0/24 via 172.18.0.3 dev eth0 proto 243", "10.244.2.0/24 via 172.18.0.4 dev eth0 proto 243", "10.99.0.0/24 via 172.18.0.77"} {
		if !strings.Contains(routes, want) {
			t.Errorf("route %q missing:\n%s", want, routes)
		}
	}
	if strings.Contains(routes, "10.244.7.0") {
		t.Errorf("the stale route of a node that is gone was kept:\n%s", routes)
	}
	if strings.Contains(routes, "10.244.0.0/24") {
		t.Errorf("a route to the node's own pod CIDR:\n%s", routes)
	}
	if nat := sh("ip", "netns", "exec", ns, "nft", "list", "table", "ip", "ferry-nat"); !strings.Contains(nat, "ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 fib daddr type != local masquerade") {
		t.Errorf("masquerade table:\n%s", nat)
	}
	if b, _ := os.ReadFile(filepath.Join(sysctl, "net/ipv4/ip_forward")); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("ip_forward = %q", b)
	}
	conf := filepath.Join(a.ConfDir, ConfFile)
	st1, err := os.Stat(conf)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(conf); !strings.Contains(string(b), `"subnet": "10.244.0.0/24"`) {
		t.Errorf("CNI config:\n%s", b)
	}

	// w2 leaves and w1 moves: its route follows, w2's goes, the file stays as is.
	nodes = []*corev1.Node{nodes[0], node("w1", "10.244.1.0/24", "172.18.0.13")}
	if err := a.Sync(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	routes = sh("ip", "-n", ns, "-4", "route", "show")
	if !strings.Contains(routes, "10.244.1.0/24 via 172.18.0.13") || strings.Contains(routes, "10.244.2.0/24") {
		t.Errorf("after w2 left and w1 moved:\n%s", routes)
	}
	st2, err := os.Stat(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !st2.ModTime().Equal(st1.ModTime()) || !os.SameFile(st1, st2) {
		t.Error("an unchanged CNI config was rewritten")
	}
	entries, _ := os.ReadDir(a.ConfDir)
	if len(entries) != 1 {
		t.Errorf("conf dir holds %d entries, want only %s", len(entries), ConfFile)
	}
}
