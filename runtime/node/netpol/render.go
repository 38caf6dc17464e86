package netpol

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Table is the nftables table ferry's agent owns.
const Table = "ferry-netpol"

// Render writes the ruleset as an nft script that replaces the table
// atomically (nft -f): sets, the forward chain with one verdict map per
// direction, and one chain per selected pod and direction.
func (rs *Ruleset) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\ntable inet %s {\n", Table, Table, Table)
	names := make([]string, 0, len(rs.Sets))
	for n := range rs.Sets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype ipv4_addr\n\t\tflags interval\n", n)
		if ps := rs.Sets[n]; len(ps) > 0 {
			elems := make([]string, len(ps))
			for i, p := range ps {
				elems[i] = prefixString(p)
			}
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(elems, ", "))
		}
		b.WriteString("\t}\n")
	}
	names = names[:0]
	for n := range rs.PairSets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype ipv4_addr . inet_proto . inet_service\n", n)
		if ps := rs.PairSets[n]; len(ps) > 0 {
			elems := make([]string, len(ps))
			for i, p := range ps {
				elems[i] = fmt.Sprintf("%s . %s . %d", p.IP, strings.ToLower(p.Protocol), p.Port)
			}
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(elems, ", "))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority filter + 10; policy accept;\n")
	b.WriteString("\t\tct state established,related accept\n")
	// Egress first: its chains return when allowed, so ingress is checked next.
	writeVmap(&b, "saddr", rs.Egress)
	writeVmap(&b, "daddr", rs.Ingress)
	b.WriteString("\t}\n")
	writeChains(&b, rs.Egress, "daddr", "return")
	writeChains(&b, rs.Ingress, "saddr", "accept")
	b.WriteString("}\n")
	return b.String()
}

func prefixString(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

func writeVmap(b *strings.Builder, field string, chains []Chain) {
	if len(chains) == 0 {
		return
	}
	sorted := append([]Chain(nil), chains...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].IP.Less(sorted[j].IP) })
	elems := make([]string, len(sorted))
	for i, ch := range sorted {
		elems[i] = fmt.Sprintf("%s : jump %s", ch.IP, ch.Name)
	}
	fmt.Fprintf(b, "\t\tip %s vmap { %s }\n", field, strings.Join(elems, ", "))
}

// writeChains writes one chain per pod; peer is the packet field that holds
// the other end (daddr for egress, saddr for ingress).
func writeChains(b *strings.Builder, chains []Chain, peer, verdict string) {
	sorted := append([]Chain(nil), chains...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, ch := range sorted {
		fmt.Fprintf(b, "\tchain %s {\n\t\t# %s\n", ch.Name, ch.Pod)
		for _, r := range ch.Rules {
			if r.Pairs != "" {
				fmt.Fprintf(b, "\t\tip %s . meta l4proto . th dport @%s %s\n", peer, r.Pairs, verdict)
				continue
			}
			match := ""
			if r.Peers != "" {
				match = fmt.Sprintf("ip %s @%s ", peer, r.Peers)
			}
			if len(r.Ports) == 0 {
				fmt.Fprintf(b, "\t\t%s%s\n", match, verdict)
				continue
			}
			for _, pr := range r.Ports {
				proto := strings.ToLower(pr.Protocol)
				switch {
				case pr.Lo == 0 && pr.Hi == 65535:
					fmt.Fprintf(b, "\t\t%smeta l4proto %s %s\n", match, proto, verdict)
				case pr.Lo == pr.Hi:
					fmt.Fprintf(b, "\t\t%smeta l4proto %s th dport %d %s\n", match, proto, pr.Lo, verdict)
				default:
					fmt.Fprintf(b, "\t\t%smeta l4proto %s th dport %d-%d %s\n", match, proto, pr.Lo, pr.Hi, verdict)
				}
			}
		}
		b.WriteString("\t\tdrop\n\t}\n")
	}
}
