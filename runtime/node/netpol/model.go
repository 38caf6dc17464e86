// Package netpol enforces Kubernetes NetworkPolicy on ferry's own clusters.
// Policies, pods and namespaces are compiled into an nftables ruleset per
// node: sets of peer addresses, one chain per selected pod and direction,
// verdict maps from pod IP to chain, connection tracking for replies. No
// packet goes to user space. Allowed is the spec read directly; the tests
// compare it with the compiled rules.
package netpol

import (
	"net/netip"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Pod is what policy evaluation needs of a pod.
type Pod struct {
	Namespace string
	Name      string
	Labels    map[string]string
	IP        netip.Addr
	Node      string
	Ports     []NamedPort
}

// NamedPort is a container port with a name.
type NamedPort struct {
	Name     string
	Port     int32
	Protocol string // TCP, UDP or SCTP
}

// Namespace is a namespace's name and labels.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Packet is the first packet of a connection.
type Packet struct {
	Src, Dst netip.Addr
	Protocol string // TCP, UDP or SCTP
	Port     int32  // destination port
}

// Cluster is the state policies are evaluated against. Its lookups are
// cached on first use: do not change it after.
type Cluster struct {
	Policies   []networkingv1.NetworkPolicy
	Namespaces []Namespace
	Pods       []Pod

	byIP      map[netip.Addr]*Pod
	nsByName  map[string]labels.Set
	selectors map[*metav1.LabelSelector]labels.Selector
}

func (c *Cluster) podByIP(ip netip.Addr) *Pod {
	if c.byIP == nil {
		c.byIP = make(map[netip.Addr]*Pod, len(c.Pods))
		for i := range c.Pods {
			c.byIP[c.Pods[i].IP] = &c.Pods[i]
		}
	}
	return c.byIP[ip]
}

func (c *Cluster) nsLabels(name string) labels.Set {
	if c.nsByName == nil {
		c.nsByName = make(map[string]labels.Set, len(c.Namespaces))
		for _, ns := range c.Namespaces {
			c.nsByName[ns.Name] = ns.Labels
		}
	}
	if l, ok := c.nsByName[name]; ok {
		return l
	}
	return labels.Set{"kubernetes.io/metadata.name": name}
}

// selects matches a label selector (parsed once per selector); an invalid
// selector matches nothing.
func (c *Cluster) selects(sel *metav1.LabelSelector, set labels.Set) bool {
	if c.selectors == nil {
		c.selectors = map[*metav1.LabelSelector]labels.Selector{}
	}
	s, ok := c.selectors[sel]
	if !ok {
		var err error
		if s, err = metav1.LabelSelectorAsSelector(sel); err != nil {
			s = labels.Nothing()
		}
		c.selectors[sel] = s
	}
	return s.Matches(set)
}

func hasType(p *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		// The API server defaults: Ingress always, Egress when there are egress rules.
		return t == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
	}
	for _, x := range p.Spec.PolicyTypes {
		if x == t {
			return true
		}
	}
	return false
}

func protocolOf(p *networkingv1.NetworkPolicyPort) string {
	if p.Protocol == nil {
		return "TCP"
	}
	return string(*p.Protocol)
}
