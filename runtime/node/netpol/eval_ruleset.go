package netpol

import "net/netip"

// allows evaluates the compiled chains the way nftables will: the chain of
// the local pod (if any) must have a rule matching the peer and port.
func (rs *Ruleset) allows(chains []Chain, local, peer netip.Addr, proto string, port int32) bool {
	for _, ch := range chains {
		if ch.IP != local {
			continue
		}
		for _, r := range ch.Rules {
			if r.Pairs != "" {
				for _, p := range rs.PairSets[r.Pairs] {
					if p.IP == peer && p.Protocol == proto && p.Port == port {
						return true
					}
				}
				continue
			}
			if r.Peers != "" && !containsAddr(rs.Sets[r.Peers], peer) {
				continue
			}
			if len(r.Ports) == 0 {
				return true
			}
			for _, pr := range r.Ports {
				if pr.Protocol == proto && port >= pr.Lo && port <= pr.Hi {
					return true
				}
			}
		}
		return false
	}
	return true
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AllowsEgress says whether this node's rules let local send the packet.
func (rs *Ruleset) AllowsEgress(p Packet) bool {
	return rs.allows(rs.Egress, p.Src, p.Dst, p.Protocol, p.Port)
}

// AllowsIngress says whether this node's rules let the packet reach local.
func (rs *Ruleset) AllowsIngress(p Packet) bool {
	return rs.allows(rs.Ingress, p.Dst, p.Src, p.Protocol, p.Port)
}
