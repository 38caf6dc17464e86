package netpol

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// PortRange is one protocol's ports Lo..Hi (0..65535: every port).
type PortRange struct {
	Protocol string
	Lo, Hi   int32
}

// Pair is one peer address with one port: what a named port of an egress
// rule becomes, since the name resolves per destination pod.
type Pair struct {
	IP       netip.Addr
	Protocol string
	Port     int32
}

// Rule allows traffic whose peer is in Peers ("" = any peer) on one of
// Ports (none = any port), or whose peer and port form one of Pairs.
type Rule struct {
	Peers string
	Ports []PortRange
	Pairs string
}

// Chain holds the rules for one pod and one direction; traffic no rule
// allows is dropped.
type Chain struct {
	Name  string
	Pod   string // namespace/name
	IP    netip.Addr
	Rules []Rule
}

// Problem is a policy part the compiler cannot enforce; it allows nothing
// (fail closed) and is reported.
type Problem struct {
	Policy string // namespace/name
	Reason string
}

// Ruleset is one node's compiled policy.
type Ruleset struct {
	Node     string
	Sets     map[string][]netip.Prefix
	PairSets map[string][]Pair
	Ingress  []Chain
	Egress   []Chain
	Problems []Problem
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:6])
}

type ruleKey struct {
	policy, rule int
	dir          networkingv1.PolicyType
}

// peerSet is a rule's peers, computed once per rule and node.
type peerSet struct {
	any      bool
	set      string // set name; "" with !any: no peer matches
	peerPods []*Pod
	pairs    map[string]string // named port/protocol → pair set name ("" = none)
}

// Compile builds the ruleset of one node: chains for the pods that run on
// it and that a policy selects.
func Compile(c *Cluster, node string) *Ruleset {
	rs := &Ruleset{Node: node, Sets: map[string][]netip.Prefix{}, PairSets: map[string][]Pair{}}
	memo := map[ruleKey]*peerSet{}
	seenProblem := map[Problem]bool{}
	problem := func(pol *networkingv1.NetworkPolicy, format string, a ...any) {
		p := Problem{Policy: pol.Namespace + "/" + pol.Name, Reason: fmt.Sprintf(format, a...)}
		if !seenProblem[p] {
			seenProblem[p] = true
			rs.Problems = append(rs.Problems, p)
		}
	}
	for i := range c.Pods {
		pod := &c.Pods[i]
		if pod.Node != node || !pod.IP.IsValid() {
			continue
		}
		for _, dir := range []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress} {
			ch, ok := c.compileChain(rs, memo, pod, dir, problem)
			if !ok {
				continue
			}
			if dir == networkingv1.PolicyTypeIngress {
				rs.Ingress = append(rs.Ingress, ch)
			} else {
				rs.Egress = append(rs.Egress, ch)
			}
		}
	}
	sort.Slice(rs.Problems, func(i, j int) bool {
		return rs.Problems[i].Policy+rs.Problems[i].Reason < rs.Problems[j].Policy+rs.Problems[j].Reason
	})
	return rs
}

func (c *Cluster) compileChain(rs *Ruleset, memo map[ruleKey]*peerSet, pod *Pod, dir networkingv1.PolicyType, problem func(*networkingv1.NetworkPolicy, string, ...any)) (Chain, bool) {
	prefix := "ing-"
	if dir == networkingv1.PolicyTypeEgress {
		prefix = "egr-"
	}
	ch := Chain{Name: prefix + shortHash(pod.Namespace, pod.Name), Pod: pod.Namespace + "/" + pod.Name, IP: pod.IP}
	selected := false
	for i := range c.Policies {
		pol := &c.Policies[i]
		if pol.Namespace != pod.Namespace || !hasType(pol, dir) || !c.selects(&pol.Spec.PodSelector, pod.Labels) {
			continue
		}
		selected = true
		type rawRule struct {
			peers []networkingv1.NetworkPolicyPeer
			ports []networkingv1.NetworkPolicyPort
		}
		var rules []rawRule
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range pol.Spec.Ingress {
				rules = append(rules, rawRule{r.From, r.Ports})
			}
		} else {
			for _, r := range pol.Spec.Egress {
				rules = append(rules, rawRule{r.To, r.Ports})
			}
		}
		for j, r := range rules {
			key := ruleKey{policy: i, rule: j, dir: dir}
			ps, ok := memo[key]
			if !ok {
				ps = c.compilePeers(rs, pol, r.peers, problem)
				memo[key] = ps
			}
			ch.Rules = append(ch.Rules, c.compileRule(rs, pol, pod, dir, ps, r.ports, problem)...)
		}
	}
	return ch, selected
}

// compilePeers computes the addresses a rule's peers stand for.
func (c *Cluster) compilePeers(rs *Ruleset, pol *networkingv1.NetworkPolicy, peers []networkingv1.NetworkPolicyPeer, problem func(*networkingv1.NetworkPolicy, string, ...any)) *peerSet {
	if len(peers) == 0 {
		ps := &peerSet{any: true, pairs: map[string]string{}}
		for i := range c.Pods {
			ps.peerPods = append(ps.peerPods, &c.Pods[i])
		}
		return ps
	}
	ps := &peerSet{pairs: map[string]string{}}
	var prefixes []netip.Prefix
	for _, peer := range peers {
		if peer.IPBlock != nil {
			cidr, err := netip.ParsePrefix(peer.IPBlock.CIDR)
			if err != nil || !cidr.Addr().Is4() {
				problem(pol, "ipBlock %q: only IPv4 CIDRs are enforced", peer.IPBlock.CIDR)
				continue
			}
			var except []netip.Prefix
			for _, e := range peer.IPBlock.Except {
				ex, err := netip.ParsePrefix(e)
				if err != nil || !ex.Addr().Is4() {
					problem(pol, "ipBlock except %q: only IPv4 CIDRs are enforced", e)
					continue
				}
				except = append(except, ex.Masked())
			}
			prefixes = append(prefixes, subtract(cidr.Masked(), except)...)
			for i := range c.Pods {
				if inBlock(peer.IPBlock, c.Pods[i].IP) {
					ps.peerPods = append(ps.peerPods, &c.Pods[i])
				}
			}
			continue
		}
		for i := range c.Pods {
			other := &c.Pods[i]
			if !other.IP.IsValid() || !c.peersMatch(pol, []networkingv1.NetworkPolicyPeer{peer}, other.IP) {
				continue
			}
			prefixes = append(prefixes, netip.PrefixFrom(other.IP, other.IP.BitLen()))
			ps.peerPods = append(ps.peerPods, other)
		}
	}
	if len(prefixes) > 0 {
		ps.set = rs.addSet(prefixes)
	}
	return ps
}

// compileRule turns one policy rule into chain rules for one pod; a rule
// that can match nothing (no peer, no port resolved) yields none.
func (c *Cluster) compileRule(rs *Ruleset, pol *networkingv1.NetworkPolicy, pod *Pod, dir networkingv1.PolicyType,
	ps *peerSet, ports []networkingv1.NetworkPolicyPort, problem func(*networkingv1.NetworkPolicy, string, ...any)) []Rule {
	if !ps.any && ps.set == "" {
		return nil
	}
	peersSet, peerPods := ps.set, ps.peerPods
	if len(ports) == 0 {
		return []Rule{{Peers: peersSet}}
	}
	var ranges []PortRange
	var pairSets []string
	for i := range ports {
		pp := &ports[i]
		proto := protocolOf(pp)
		switch {
		case pp.Port == nil:
			ranges = append(ranges, PortRange{proto, 0, 65535})
		case pp.Port.Type == intstr.Int:
			hi := pp.Port.IntVal
			if pp.EndPort != nil {
				hi = *pp.EndPort
			}
			if hi < pp.Port.IntVal {
				problem(pol, "endPort %d is below port %d", hi, pp.Port.IntVal)
				continue
			}
			ranges = append(ranges, PortRange{proto, pp.Port.IntVal, hi})
		case dir == networkingv1.PolicyTypeIngress:
			// The name is one of this pod's ports.
			for _, np := range pod.Ports {
				if np.Name == pp.Port.StrVal && np.Protocol == proto {
					ranges = append(ranges, PortRange{proto, np.Port, np.Port})
				}
			}
		default:
			// The name is a port of each destination pod: the same for
			// every pod the rule applies to, so computed once.
			key := pp.Port.StrVal + "/" + proto
			name, ok := ps.pairs[key]
			if !ok {
				var pairs []Pair
				for _, other := range peerPods {
					for _, np := range other.Ports {
						if np.Name == pp.Port.StrVal && np.Protocol == proto && other.IP.IsValid() {
							pairs = append(pairs, Pair{other.IP, proto, np.Port})
						}
					}
				}
				if len(pairs) > 0 {
					name = rs.addPairs(pairs)
				}
				ps.pairs[key] = name
			}
			if name != "" && !slices.Contains(pairSets, name) {
				pairSets = append(pairSets, name)
			}
		}
	}
	var out []Rule
	if len(ranges) > 0 {
		out = append(out, Rule{Peers: peersSet, Ports: normalizeRanges(ranges)})
	}
	for _, name := range pairSets {
		out = append(out, Rule{Pairs: name})
	}
	return out
}

// addSet stores a set of prefixes under a name derived from its content.
func (rs *Ruleset) addSet(ps []netip.Prefix) string {
	ps = mergePrefixes(ps)
	var parts []string
	for _, p := range ps {
		parts = append(parts, p.String())
	}
	name := "peers-" + shortHash(parts...)
	rs.Sets[name] = ps
	return name
}

func (rs *Ruleset) addPairs(ps []Pair) string {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if c := a.IP.Compare(b.IP); c != 0 {
			return c < 0
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.Port < b.Port
	})
	ps = slices.Compact(ps)
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, pairKey(p))
	}
	name := "pairs-" + shortHash(parts...)
	rs.PairSets[name] = ps
	return name
}

func pairKey(p Pair) string { return fmt.Sprintf("%s/%s/%05d", p.IP, p.Protocol, p.Port) }

// subtract returns p minus every prefix of ex, as prefixes.
func subtract(p netip.Prefix, ex []netip.Prefix) []netip.Prefix {
	overlaps := false
	for _, e := range ex {
		if e.Bits() <= p.Bits() && e.Contains(p.Addr()) {
			return nil // p lies inside an exception
		}
		if p.Overlaps(e) {
			overlaps = true
		}
	}
	if !overlaps || p.Bits() >= p.Addr().BitLen() {
		return []netip.Prefix{p}
	}
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	hiAddr := p.Addr().As4()
	bit := p.Bits()
	hiAddr[bit/8] |= 0x80 >> (bit % 8)
	hi := netip.PrefixFrom(netip.AddrFrom4(hiAddr), p.Bits()+1)
	return append(subtract(lo, ex), subtract(hi, ex)...)
}

// mergePrefixes sorts prefixes and drops those inside another.
func mergePrefixes(ps []netip.Prefix) []netip.Prefix {
	sort.Slice(ps, func(i, j int) bool {
		if c := ps[i].Addr().Compare(ps[j].Addr()); c != 0 {
			return c < 0
		}
		return ps[i].Bits() < ps[j].Bits()
	})
	var out []netip.Prefix
	for _, p := range ps {
		if len(out) > 0 && out[len(out)-1].Bits() <= p.Bits() && out[len(out)-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func normalizeRanges(rs []PortRange) []PortRange {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Protocol != rs[j].Protocol {
			return rs[i].Protocol < rs[j].Protocol
		}
		return rs[i].Lo < rs[j].Lo
	})
	return slices.Compact(rs)
}
