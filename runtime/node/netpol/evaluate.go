package netpol

import (
	"net/netip"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Allowed answers whether the cluster's policies allow a connection, read
// straight from the NetworkPolicy spec: egress of the source pod and
// ingress of the destination pod must both allow it; a direction no policy
// selects the pod for is open; any policy that allows it suffices.
func (c *Cluster) Allowed(p Packet) bool {
	if src := c.podByIP(p.Src); src != nil && !c.allowedDir(src, networkingv1.PolicyTypeEgress, p) {
		return false
	}
	if dst := c.podByIP(p.Dst); dst != nil && !c.allowedDir(dst, networkingv1.PolicyTypeIngress, p) {
		return false
	}
	return true
}

func (c *Cluster) allowedDir(pod *Pod, dir networkingv1.PolicyType, p Packet) bool {
	selected := false
	for i := range c.Policies {
		pol := &c.Policies[i]
		if pol.Namespace != pod.Namespace || !hasType(pol, dir) || !c.selects(&pol.Spec.PodSelector, pod.Labels) {
			continue
		}
		selected = true
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range pol.Spec.Ingress {
				if c.peersMatch(pol, r.From, p.Src) && c.portsMatch(r.Ports, c.podByIP(p.Dst), p) {
					return true
				}
			}
		} else {
			for _, r := range pol.Spec.Egress {
				if c.peersMatch(pol, r.To, p.Dst) && c.portsMatch(r.Ports, c.podByIP(p.Dst), p) {
					return true
				}
			}
		}
	}
	return !selected
}

func (c *Cluster) peersMatch(pol *networkingv1.NetworkPolicy, peers []networkingv1.NetworkPolicyPeer, ip netip.Addr) bool {
	if len(peers) == 0 {
		return true
	}
	other := c.podByIP(ip)
	for _, peer := range peers {
		switch {
		case peer.IPBlock != nil:
			if inBlock(peer.IPBlock, ip) {
				return true
			}
		case other == nil:
		case peer.NamespaceSelector == nil:
			if other.Namespace == pol.Namespace && c.selects(peer.PodSelector, other.Labels) {
				return true
			}
		default:
			if c.selects(peer.NamespaceSelector, c.nsLabels(other.Namespace)) &&
				(peer.PodSelector == nil || c.selects(peer.PodSelector, other.Labels)) {
				return true
			}
		}
	}
	return false
}

func inBlock(b *networkingv1.IPBlock, ip netip.Addr) bool {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !cidr.Contains(ip) {
		return false
	}
	for _, e := range b.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Contains(ip) {
			return false
		}
	}
	return true
}

// portsMatch: named ports name a port of the destination pod.
func (c *Cluster) portsMatch(ports []networkingv1.NetworkPolicyPort, dst *Pod, p Packet) bool {
	if len(ports) == 0 {
		return true
	}
	for i := range ports {
		pp := &ports[i]
		if protocolOf(pp) != p.Protocol {
			continue
		}
		if pp.Port == nil {
			return true
		}
		if pp.Port.Type == intstr.Int {
			lo, hi := pp.Port.IntVal, pp.Port.IntVal
			if pp.EndPort != nil {
				hi = *pp.EndPort
			}
			if p.Port >= lo && p.Port <= hi {
				return true
			}
			continue
		}
		if dst == nil {
			continue
		}
		for _, np := range dst.Ports {
			if np.Name == pp.Port.StrVal && np.Protocol == p.Protocol && np.Port == p.Port {
				return true
			}
		}
	}
	return false
}
