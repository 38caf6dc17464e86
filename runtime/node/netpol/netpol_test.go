package netpol

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var update = flag.Bool("update", false, "rewrite golden files")

func tcp() *corev1.Protocol { p := corev1.ProtocolTCP; return &p }
func udp() *corev1.Protocol { p := corev1.ProtocolUDP; return &p }
func portNum(n int32) *intstr.IntOrString {
	v := intstr.FromInt32(n)
	return &v
}
func portName(s string) *intstr.IntOrString {
	v := intstr.FromString(s)
	return &v
}
func sel(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}
func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// tenants is two tenants' namespaces with ferry's default-deny and
// same-tenant allow, a web pod with a named port, and an egress policy with
// an ipBlock and an exception.
func tenants() *Cluster {
	end := int32(9100)
	c := &Cluster{
		Namespaces: []Namespace{
			{Name: "ferry-a", Labels: map[string]string{"kubernetes.io/metadata.name": "ferry-a", "ferry.io/tenant": "a"}},
			{Name: "ferry-b", Labels: map[string]string{"kubernetes.io/metadata.name": "ferry-b", "ferry.io/tenant": "b"}},
			{Name: "ferry-system", Labels: map[string]string{"kubernetes.io/metadata.name": "ferry-system"}},
		},
		Pods: []Pod{
			{Namespace: "ferry-a", Name: "web", Labels: map[string]string{"app": "web"}, IP: ip("10.244.0.10"), Node: "n1",
				Ports: []NamedPort{{Name: "http", Port: 8080, Protocol: "TCP"}}},
			{Namespace: "ferry-a", Name: "client", Labels: map[string]string{"app": "client"}, IP: ip("10.244.1.11"), Node: "n2"},
			{Namespace: "ferry-b", Name: "other", Labels: map[string]string{"app": "client"}, IP: ip("10.244.1.20"), Node: "n2"},
			{Namespace: "ferry-system", Name: "ferry", Labels: map[string]string{"app.kubernetes.io/name": "ferry"}, IP: ip("10.244.0.2"), Node: "n1"},
		},
	}
	for _, t := range []string{"ferry-a", "ferry-b"} {
		c.Policies = append(c.Policies,
			networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: t, Name: "ferry-default-deny"},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"}}},
			networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: t, Name: "ferry-allow-same-tenant"},
				Spec: networkingv1.NetworkPolicySpec{
					PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
						{PodSelector: &metav1.LabelSelector{}},
						{NamespaceSelector: sel("kubernetes.io/metadata.name", "ferry-system")},
					}}},
					Egress: []networkingv1.NetworkPolicyEgressRule{
						{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}},
						{Ports: []networkingv1.NetworkPolicyPort{{Protocol: udp(), Port: portNum(53)}}},
					},
				}},
		)
	}
	c.Policies = append(c.Policies, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ferry-a", Name: "web-out"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app", "web"),
			PolicyTypes: []networkingv1.PolicyType{"Egress"},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "192.168.0.0/16", Except: []string{"192.168.1.0/24"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: tcp(), Port: portNum(9000), EndPort: &end}},
			}, {
				To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("ferry.io/tenant", "b"), PodSelector: sel("app", "client")}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: portName("http")}},
			}},
		}})
	return c
}

func TestCompiledRulesetsMatchGoldenFiles(t *testing.T) {
	c := tenants()
	for _, node := range []string{"n1", "n2"} {
		got := Compile(c, node).Render()
		path := filepath.Join("testdata", "tenants-"+node+".nft")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs:\n%s", path, got)
		}
	}
}

func TestTenantsAreIsolated(t *testing.T) {
	c := tenants()
	cases := []struct {
		name string
		p    Packet
		want bool
	}{
		{"same tenant, across nodes", Packet{ip("10.244.1.11"), ip("10.244.0.10"), "TCP", 8080}, true},
		{"other tenant to web", Packet{ip("10.244.1.20"), ip("10.244.0.10"), "TCP", 8080}, false},
		{"control plane to a tenant", Packet{ip("10.244.0.2"), ip("10.244.0.10"), "TCP", 8080}, true},
		{"tenant to outside", Packet{ip("10.244.1.11"), ip("8.8.8.8"), "TCP", 443}, false},
		{"tenant DNS anywhere", Packet{ip("10.244.1.11"), ip("10.96.0.10"), "UDP", 53}, true},
		{"web to the ipBlock", Packet{ip("10.244.0.10"), ip("192.168.7.7"), "TCP", 9050}, true},
		{"web to the exception", Packet{ip("10.244.0.10"), ip("192.168.1.7"), "TCP", 9050}, false},
		{"web outside the port range", Packet{ip("10.244.0.10"), ip("192.168.7.7"), "TCP", 9101}, false},
		{"web egress to b, but b's ingress denies", Packet{ip("10.244.0.10"), ip("10.244.1.20"), "TCP", 8080}, false},
	}
	for _, tc := range cases {
		if got := c.Allowed(tc.p); got != tc.want {
			t.Errorf("%s: Allowed = %v", tc.name, got)
		}
		if got := compiledAllowed(c, tc.p); got != tc.want {
			t.Errorf("%s: compiled rules say %v", tc.name, got)
		}
	}
}

// compiledAllowed evaluates the compiled rulesets of the source's and the
// destination's nodes, as the packet would traverse them.
func compiledAllowed(c *Cluster, p Packet) bool {
	if src := c.podByIP(p.Src); src != nil && !Compile(c, src.Node).AllowsEgress(p) {
		return false
	}
	if dst := c.podByIP(p.Dst); dst != nil && !Compile(c, dst.Node).AllowsIngress(p) {
		return false
	}
	return true
}

func TestUnenforceablePartsAreReportedAndAllowNothing(t *testing.T) {
	c := tenants()
	c.Policies = append(c.Policies, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ferry-a", Name: "v6"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "web"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "fd00::/8"}}}}}}})
	rs := Compile(c, "n1")
	if len(rs.Problems) != 1 || rs.Problems[0].Policy != "ferry-a/v6" || !strings.Contains(rs.Problems[0].Reason, "IPv4") {
		t.Fatalf("problems %+v", rs.Problems)
	}
}

func TestSubtractLeavesExactlyTheBlockMinusItsExceptions(t *testing.T) {
	got := subtract(netip.MustParsePrefix("10.0.0.0/8"), []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.0.0.0/24")})
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		a := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(3)), byte(r.IntN(256))})
		want := !netip.MustParsePrefix("10.1.0.0/16").Contains(a) && !netip.MustParsePrefix("10.0.0.0/24").Contains(a)
		if containsAddr(got, a) != want {
			t.Fatalf("%s: in result %v, want %v (%v)", a, !want, want, got)
		}
	}
}

// randomCluster builds pods over 3 nodes and 3 namespaces with random labels
// and ports, and random policies using every feature of the spec.
func randomCluster(r *rand.Rand) *Cluster {
	c := &Cluster{}
	vals := []string{"a", "b", "c"}
	for i := range 3 {
		ns := fmt.Sprintf("ns%d", i)
		c.Namespaces = append(c.Namespaces, Namespace{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns, "team": vals[r.IntN(3)]}})
	}
	for i := range 8 {
		p := Pod{Namespace: fmt.Sprintf("ns%d", r.IntN(3)), Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"app": vals[r.IntN(3)], "tier": vals[r.IntN(3)]},
			IP: netip.AddrFrom4([4]byte{10, 244, byte(r.IntN(2)), byte(10 + i)}), Node: fmt.Sprintf("n%d", r.IntN(3))}
		for _, name := range []string{"http", "metrics"} {
			if r.IntN(2) == 0 {
				p.Ports = append(p.Ports, NamedPort{Name: name, Port: int32(8000 + r.IntN(4)), Protocol: []string{"TCP", "UDP"}[r.IntN(2)]})
			}
		}
		c.Pods = append(c.Pods, p)
	}
	randSel := func() *metav1.LabelSelector {
		switch r.IntN(4) {
		case 0:
			return &metav1.LabelSelector{}
		case 1:
			return sel("app", vals[r.IntN(3)])
		case 2:
			return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{vals[r.IntN(3)]}}}}
		}
		return sel("app", vals[r.IntN(3)], "tier", vals[r.IntN(3)])
	}
	randPeers := func() []networkingv1.NetworkPolicyPeer {
		var peers []networkingv1.NetworkPolicyPeer
		for range r.IntN(3) {
			switch r.IntN(4) {
			case 0:
				peers = append(peers, networkingv1.NetworkPolicyPeer{PodSelector: randSel()})
			case 1:
				peers = append(peers, networkingv1.NetworkPolicyPeer{NamespaceSelector: sel("team", vals[r.IntN(3)])})
			case 2:
				peers = append(peers, networkingv1.NetworkPolicyPeer{NamespaceSelector: randSel(), PodSelector: randSel()})
			default:
				b := &networkingv1.IPBlock{CIDR: []string{"10.244.0.0/16", "10.244.1.0/24", "192.168.0.0/16", "0.0.0.0/0"}[r.IntN(4)]}
				if r.IntN(2) == 0 {
					b.Except = []string{[]string{"10.244.1.0/28", "10.244.0.12/32", "192.168.1.0/24"}[r.IntN(3)]}
				}
				peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: b})
			}
		}
		return peers
	}
	randPorts := func() []networkingv1.NetworkPolicyPort {
		var ports []networkingv1.NetworkPolicyPort
		for range r.IntN(3) {
			pp := networkingv1.NetworkPolicyPort{}
			if r.IntN(3) > 0 {
				pp.Protocol = []func() *corev1.Protocol{tcp, udp}[r.IntN(2)]()
			}
			switch r.IntN(4) {
			case 0:
			case 1:
				pp.Port = portNum(int32(8000 + r.IntN(4)))
			case 2:
				pp.Port = portNum(int32(8000 + r.IntN(2)))
				end := int32(8001 + r.IntN(3))
				pp.EndPort = &end
			default:
				pp.Port = portName([]string{"http", "metrics"}[r.IntN(2)])
			}
			ports = append(ports, pp)
		}
		return ports
	}
	for i := range 1 + r.IntN(5) {
		pol := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns%d", r.IntN(3)), Name: fmt.Sprintf("pol%d", i)},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: *randSel()}}
		switch r.IntN(4) {
		case 0:
			pol.Spec.PolicyTypes = []networkingv1.PolicyType{"Ingress"}
		case 1:
			pol.Spec.PolicyTypes = []networkingv1.PolicyType{"Egress"}
		case 2:
			pol.Spec.PolicyTypes = []networkingv1.PolicyType{"Ingress", "Egress"}
		}
		for range r.IntN(3) {
			pol.Spec.Ingress = append(pol.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: randPeers(), Ports: randPorts()})
		}
		for range r.IntN(3) {
			pol.Spec.Egress = append(pol.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: randPeers(), Ports: randPorts()})
		}
		c.Policies = append(c.Policies, pol)
	}
	return c
}

func FuzzCompiledVerdictsMatchTheSpec(f *testing.F) {
	for i := range 8 {
		f.Add(uint64(i), uint64(i*7+1))
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		r := rand.New(rand.NewPCG(s1, s2))
		c := randomCluster(r)
		addrs := []netip.Addr{ip("192.168.1.5"), ip("192.168.9.9"), ip("8.8.8.8"), ip("10.244.1.3")}
		for _, p := range c.Pods {
			addrs = append(addrs, p.IP)
		}
		for range 200 {
			p := Packet{Src: addrs[r.IntN(len(addrs))], Dst: addrs[r.IntN(len(addrs))], Protocol: []string{"TCP", "UDP"}[r.IntN(2)], Port: int32(7999 + r.IntN(5))}
			if want, got := c.Allowed(p), compiledAllowed(c, p); want != got {
				t.Fatalf("packet %+v: spec says %v, compiled rules %v\npolicies: %+v", p, want, got, c.Policies)
			}
		}
	})
}

// TestRenderedRulesetsLoadIntoTheKernel checks the rendered scripts with
// nft --check (parsed and validated by the kernel, not committed).
func TestRenderedRulesetsLoadIntoTheKernel(t *testing.T) {
	nft, err := exec.LookPath("nft")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs nft and root (nft --check talks to the kernel)")
	}
	clusters := []*Cluster{tenants()}
	for i := range 30 {
		clusters = append(clusters, randomCluster(rand.New(rand.NewPCG(uint64(i), 99))))
	}
	pairs := 0
	for i, c := range clusters {
		for _, node := range []string{"n0", "n1", "n2"} {
			rs := Compile(c, node)
			pairs += len(rs.PairSets)
			path := filepath.Join(t.TempDir(), "rules.nft")
			if err := os.WriteFile(path, []byte(rs.Render()), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(nft, "--check", "-f", path).CombinedOutput(); err != nil {
				t.Fatalf("cluster %d node %s: nft rejects the ruleset: %v\n%s\n%s", i, node, err, out, rs.Render())
			}
		}
	}
	if pairs == 0 {
		t.Error("no ruleset had a named-port pair set: the check did not cover them")
	}
}
