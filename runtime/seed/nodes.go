package seed

import (
	"sort"
	"sync"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// MaxNodes bounds how many nodes' reports are kept.
const MaxNodes = 5000

// Nodes keeps what each node's agent last reported (in memory: agents
// report again after every sync, so a restarted server learns it anew).
type Nodes struct {
	mu    sync.Mutex
	nodes map[string]v1.SeedNodeStatus
	now   func() time.Time
}

// Report records a node's report; it is false when the table is full of
// other nodes.
func (n *Nodes) Report(r v1.SeedReport) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nodes == nil {
		n.nodes = map[string]v1.SeedNodeStatus{}
	}
	if _, ok := n.nodes[r.Node]; !ok && len(n.nodes) >= MaxNodes {
		return false
	}
	now := time.Now
	if n.now != nil {
		now = n.now
	}
	n.nodes[r.Node] = v1.SeedNodeStatus{Node: r.Node, Generation: r.Generation, Reported: now().UTC()}
	return true
}

// Status lists every node's last report, by node name, marking those
// that hold generation gen.
func (n *Nodes) Status(gen string) []v1.SeedNodeStatus {
	n.mu.Lock()
	out := make([]v1.SeedNodeStatus, 0, len(n.nodes))
	for _, st := range n.nodes {
		st.Current = st.Generation == gen
		out = append(out, st)
	}
	n.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}
