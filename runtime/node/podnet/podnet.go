// Package podnet wires the pod network of one node of ferry's own kind
// clusters (whose nodes have no CNI of their own): a ptp CNI config for the
// node's pod CIDR, a route to every other node's pod CIDR through that
// node's address (all nodes share one L2 network), and masquerade for pod
// traffic that leaves the cluster. It is kindnetd's job, done from
// informers by the `ferry node-agent` DaemonSet.
package podnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// RouteProtocol marks the routes the agent owns (ip route ... proto 243), so
// that it can find and remove the stale ones after a restart.
const RouteProtocol = "243"

// ConfFile is the CNI configuration the agent writes.
const ConfFile = "10-ferry.conflist"

// Exec runs a program of the node with stdin and returns its output.
type Exec func(ctx context.Context, stdin, name string, args ...string) ([]byte, error)

// HostExec runs the node's own programs: found under root (the node's root
// filesystem as mounted in the agent's container) and run chrooted there,
// so the scratch image needs no nft or ip of its own. An empty root runs
// them from this filesystem's PATH.
func HostExec(root string) Exec {
	return func(ctx context.Context, stdin, name string, args ...string) ([]byte, error) {
		path, err := lookPath(root, name)
		if err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, path, args...)
		if root != "" && root != "/" {
			cmd.SysProcAttr = chrooted(root)
			cmd.Dir = "/"
			cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
		}
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return out.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
		}
		return out.Bytes(), nil
	}
}

// lookPath finds name in the usual directories under root and returns its
// path as seen from inside root.
func lookPath(root, name string) (string, error) {
	if root == "" || root == "/" {
		return exec.LookPath(name)
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(filepath.Join(root, p)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed on the node (looked in %s/{usr/sbin,usr/bin,sbin,bin})", name, root)
}

// Agent keeps one node's pod network in step with the cluster's nodes.
type Agent struct {
	Client      kubernetes.Interface
	Node        string
	ClusterCIDR netip.Prefix
	// ConfDir is where the kubelet reads CNI configurations.
	ConfDir string
	Exec    Exec
	Log     *slog.Logger
	Resync  time.Duration
	// Sysctl is the root of /proc/sys to turn forwarding on under
	// (default /proc/sys; a test points it elsewhere).
	Sysctl string

	masquerade string // the masquerade ruleset last applied
}

// Conflist is the CNI configuration of a node whose pods take addresses
// from cidr.
func Conflist(cidr netip.Prefix) []byte {
	type ipam struct {
		Type   string                `json:"type"`
		Ranges [][]map[string]string `json:"ranges"`
		Routes []map[string]string   `json:"routes"`
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "ferry",
		"plugins": []any{
			map[string]any{"type": "ptp", "ipMasq": false, "mtu": 1500, "ipam": ipam{
				Type:   "host-local",
				Ranges: [][]map[string]string{{{"subnet": cidr.String()}}},
				Routes: []map[string]string{{"dst": "0.0.0.0/0"}},
			}},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, _ := json.MarshalIndent(conf, "", "  ")
	return append(b, '\n')
}

// MasqueradeScript is the nft script that masquerades pod traffic leaving
// the cluster CIDR (not to the node's own addresses), replaced atomically.
func MasqueradeScript(cluster netip.Prefix) string {
	return fmt.Sprintf(`table ip ferry-nat
delete table ip ferry-nat
table ip ferry-nat {
	chain postrouting {
		type nat hook postrouting priority srcnat + 10; policy accept;
		ip saddr %[1]s ip daddr != %[1]s fib daddr type != local masquerade
	}
}
`, cluster)
}

// Route is one route the agent wants: a node's pod CIDR through its address.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

// Desired reads the nodes: this node's pod CIDR (invalid when not yet
// assigned) and a route to every other node's pod CIDR.
func Desired(nodes []*corev1.Node, me string) (netip.Prefix, []Route) {
	var mine netip.Prefix
	var routes []Route
	for _, n := range nodes {
		cidr, err := netip.ParsePrefix(n.Spec.PodCIDR)
		if err != nil || !cidr.Addr().Is4() {
			continue
		}
		if n.Name == me {
			mine = cidr
			continue
		}
		for _, a := range n.Status.Addresses {
			ip, err := netip.ParseAddr(a.Address)
			if a.Type == corev1.NodeInternalIP && err == nil && ip.Is4() {
				routes = append(routes, Route{Dst: cidr.Masked(), Via: ip})
				break
			}
		}
	}
	slices.SortFunc(routes, func(a, b Route) int { return strings.Compare(a.Dst.String(), b.Dst.String()) })
	return mine, routes
}

// Run watches the nodes and keeps this node wired until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if a.Client == nil || a.Node == "" || a.Exec == nil || a.Log == nil || a.ConfDir == "" || !a.ClusterCIDR.IsValid() {
		return errors.New("podnet agent: client, node, exec, log, conf dir and cluster CIDR are required")
	}
	if a.Resync <= 0 {
		a.Resync = 5 * time.Minute
	}
	f := informers.NewSharedInformerFactory(a.Client, a.Resync)
	nodes := f.Core().V1().Nodes()
	poke := make(chan struct{}, 1)
	wake := func() {
		select {
		case poke <- struct{}{}:
		default:
		}
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { wake() },
		UpdateFunc: func(any, any) { wake() },
		DeleteFunc: func(any) { wake() },
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodes.Informer().HasSynced) {
		return ctx.Err()
	}
	wake()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poke:
		}
		list, err := nodes.Lister().List(labels.Everything())
		if err == nil {
			err = a.Sync(ctx, list)
		}
		if err != nil {
			a.Log.Error("pod network sync failed; retrying", "err", err)
			time.AfterFunc(2*time.Second, wake)
		}
	}
}

// Sync makes the node match the nodes listed: forwarding and masquerade,
// the CNI config, and exactly the routes of the other nodes.
func (a *Agent) Sync(ctx context.Context, nodes []*corev1.Node) error {
	if err := a.forwarding(ctx); err != nil {
		return err
	}
	mine, want := Desired(nodes, a.Node)
	if mine.IsValid() {
		if err := a.writeConf(mine); err != nil {
			return err
		}
	} else {
		a.Log.Info("no pod CIDR assigned to this node yet", "node", a.Node)
	}
	return a.routes(ctx, want)
}

func (a *Agent) forwarding(ctx context.Context) error {
	root := a.Sysctl
	if root == "" {
		root = "/proc/sys"
	}
	p := filepath.Join(root, "net/ipv4/ip_forward")
	if b, err := os.ReadFile(p); err != nil || strings.TrimSpace(string(b)) != "1" {
		if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
			return fmt.Errorf("turn IPv4 forwarding on: %w", err)
		}
		a.Log.Info("IPv4 forwarding turned on")
	}
	script := MasqueradeScript(a.ClusterCIDR)
	if script == a.masquerade {
		return nil
	}
	if _, err := a.Exec(ctx, script, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("masquerade: %w", err)
	}
	a.masquerade = script
	a.Log.Info("masquerading pod traffic that leaves the cluster", "clusterCIDR", a.ClusterCIDR.String())
	return nil
}

// writeConf writes the CNI config when it differs, atomically (the kubelet
// must never read half a file).
func (a *Agent) writeConf(cidr netip.Prefix) error {
	want := Conflist(cidr)
	path := filepath.Join(a.ConfDir, ConfFile)
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		return nil
	}
	if err := os.MkdirAll(a.ConfDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(a.ConfDir, ".ferry-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(want); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	a.Log.Info("wrote CNI config", "path", path, "podCIDR", cidr.String())
	return nil
}

// routes makes the agent's routes (those of RouteProtocol) exactly want.
func (a *Agent) routes(ctx context.Context, want []Route) error {
	out, err := a.Exec(ctx, "", "ip", "-j", "-4", "route", "show", "proto", RouteProtocol)
	if err != nil {
		return err
	}
	have, err := ParseRoutes(out)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range want {
		if slices.Contains(have, r) {
			continue
		}
		if _, err := a.Exec(ctx, "", "ip", "route", "replace", r.Dst.String(), "via", r.Via.String(), "proto", RouteProtocol); err != nil {
			errs = append(errs, err)
			continue
		}
		a.Log.Info("route to a node's pods", "dst", r.Dst.String(), "via", r.Via.String())
	}
	for _, r := range have {
		if slices.ContainsFunc(want, func(w Route) bool { return w.Dst == r.Dst }) {
			continue
		}
		if _, err := a.Exec(ctx, "", "ip", "route", "del", r.Dst.String(), "proto", RouteProtocol); err != nil {
			errs = append(errs, err)
			continue
		}
		a.Log.Info("removed the route of a node that left", "dst", r.Dst.String())
	}
	return errors.Join(errs...)
}

// ParseRoutes reads `ip -j route show` output.
func ParseRoutes(out []byte) ([]Route, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	var rows []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
	}
	if err := json.Unmarshal(out, &rows); err != nil {
		return nil, fmt.Errorf("read ip -j route output: %w", err)
	}
	var routes []Route
	for _, r := range rows {
		dst, err := netip.ParsePrefix(r.Dst)
		if err != nil {
			addr, aerr := netip.ParseAddr(r.Dst)
			if aerr != nil {
				return nil, fmt.Errorf("route destination %q: %w", r.Dst, err)
			}
			dst = netip.PrefixFrom(addr, addr.BitLen())
		}
		via, _ := netip.ParseAddr(r.Gateway)
		routes = append(routes, Route{Dst: dst, Via: via})
	}
	return routes, nil
}
