package netpol

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bigCluster is 1,000 pods in 10 namespaces on 10 nodes under 100 policies
// (10 per namespace, mixing pod, namespace and ipBlock peers and ports).
func bigCluster() *Cluster {
	r := rand.New(rand.NewPCG(7, 7))
	c := &Cluster{}
	for n := range 10 {
		ns := fmt.Sprintf("ferry-t%d", n)
		c.Namespaces = append(c.Namespaces, Namespace{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns, "ferry.io/tenant": fmt.Sprint(n)}})
	}
	for i := range 1000 {
		c.Pods = append(c.Pods, Pod{
			Namespace: fmt.Sprintf("ferry-t%d", i%10), Name: fmt.Sprintf("p%d", i),
			Labels: map[string]string{"app": fmt.Sprintf("app%d", r.IntN(20)), "role": []string{"web", "worker", "db"}[r.IntN(3)]},
			IP:     netip.AddrFrom4([4]byte{10, 244, byte(i / 250), byte(i%250 + 2)}), Node: fmt.Sprintf("n%d", i%10),
			Ports: []NamedPort{{Name: "http", Port: 8080, Protocol: "TCP"}},
		})
	}
	for i := range 100 {
		ns := fmt.Sprintf("ferry-t%d", i%10)
		pol := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("pol%d", i)},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: *sel("role", []string{"web", "worker", "db"}[i%3]),
				PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app", fmt.Sprintf("app%d", i%20))}, {NamespaceSelector: sel("ferry.io/tenant", fmt.Sprint((i+1)%10))}},
					Ports: []networkingv1.NetworkPolicyPort{{Port: portNum(8080)}, {Port: portName("http")}},
				}},
				Egress: []networkingv1.NetworkPolicyEgressRule{
					{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}},
					{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "169.254.169.254/32"}}}}},
					{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}, Ports: []networkingv1.NetworkPolicyPort{{Port: portName("http")}}},
				},
			}}
		c.Policies = append(c.Policies, pol)
	}
	return c
}

// BenchmarkCompile1000Pods100Policies compiles one node's ruleset; it
// reports the rendered size and the rules of that node.
func BenchmarkCompile1000Pods100Policies(b *testing.B) {
	c := bigCluster()
	var out string
	var rs *Ruleset
	for b.Loop() {
		rs = Compile(c, "n0")
		out = rs.Render()
	}
	rules, elems := 0, 0
	for _, ch := range append(rs.Ingress, rs.Egress...) {
		rules += len(ch.Rules)
	}
	for _, s := range rs.Sets {
		elems += len(s)
	}
	for _, s := range rs.PairSets {
		elems += len(s)
	}
	b.ReportMetric(float64(len(out)), "ruleset-bytes")
	b.ReportMetric(float64(rules), "rules")
	b.ReportMetric(float64(len(rs.Sets)+len(rs.PairSets)), "sets")
	b.ReportMetric(float64(elems), "set-elements")
}
