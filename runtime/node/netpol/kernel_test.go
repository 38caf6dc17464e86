package netpol

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsLab is a router namespace with one veth-attached namespace per pod
// (ptp style, as ferry's pod network does), so compiled rules can be loaded
// into the router's forward hook and judged by real packets.
type netnsLab struct {
	t      *testing.T
	prefix string
	pods   map[netip.Addr]string // pod IP → namespace name
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newLab(t *testing.T, ips ...netip.Addr) *netnsLab {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	l := &netnsLab{t: t, prefix: fmt.Sprintf("fnp%d", os.Getpid()%10000), pods: map[netip.Addr]string{}}
	router := l.prefix + "r"
	run(t, "ip", "netns", "add", router)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", router).Run() })
	run(t, "ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	run(t, "ip", "-n", router, "link", "set", "lo", "up")
	for i, ip := range ips {
		ns := fmt.Sprintf("%sp%d", l.prefix, i)
		host, peer := fmt.Sprintf("%sh%d", l.prefix, i), fmt.Sprintf("%sc%d", l.prefix, i)
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "link", "add", host, "netns", router, "type", "veth", "peer", "name", peer, "netns", ns)
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		run(t, "ip", "-n", ns, "link", "set", peer, "up")
		run(t, "ip", "-n", ns, "addr", "add", ip.String()+"/32", "dev", peer)
		run(t, "ip", "-n", ns, "route", "add", "169.254.1.1", "dev", peer)
		run(t, "ip", "-n", ns, "route", "add", "default", "via", "169.254.1.1", "dev", peer)
		run(t, "ip", "-n", router, "link", "set", host, "up")
		run(t, "ip", "-n", router, "addr", "add", "169.254.1.1/32", "dev", host)
		run(t, "ip", "-n", router, "route", "add", ip.String()+"/32", "dev", host)
		l.pods[ip] = ns
	}
	return l
}

// in runs f with the calling thread in the named network namespace.
func in(t *testing.T, ns string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join("/var/run/netns", ns))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(err) // the thread would stay in the wrong namespace
		}
	}()
	f()
}

func (l *netnsLab) load(rs *Ruleset) {
	path := filepath.Join(l.t.TempDir(), "rules.nft")
	if err := os.WriteFile(path, []byte(rs.Render()), 0o600); err != nil {
		l.t.Fatal(err)
	}
	run(l.t, "ip", "netns", "exec", l.prefix+"r", "nft", "-f", path)
}

// listen serves TCP on ip:port inside the pod's namespace.
func (l *netnsLab) listen(ip netip.Addr, port int) {
	var ln net.Listener
	in(l.t, l.pods[ip], func() {
		var err error
		if ln, err = net.Listen("tcp", netip.AddrPortFrom(ip, uint16(port)).String()); err != nil {
			l.t.Fatal(err)
		}
	})
	l.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// connects says whether a TCP connection from src to dst:port is set up.
func (l *netnsLab) connects(src, dst netip.Addr, port int) bool {
	var d net.Conn
	var err error
	in(l.t, l.pods[src], func() {
		dialer := net.Dialer{Timeout: 700 * time.Millisecond}
		d, err = dialer.DialContext(context.Background(), "tcp", netip.AddrPortFrom(dst, uint16(port)).String())
	})
	if err != nil {
		return false
	}
	d.Close()
	return true
}

// TestCompiledRulesEnforceInTheKernel loads the compiled ruleset of the
// tenants example into a router's forward hook and checks real connections
// against the spec's verdicts (all pods behind one router: both chains of
// a pair apply, as for pods on one node).
func TestCompiledRulesEnforceInTheKernel(t *testing.T) {
	c := tenants()
	for i := range c.Pods {
		c.Pods[i].Node = "n1" // one router: every pod is local
	}
	var ips []netip.Addr
	for _, p := range c.Pods {
		ips = append(ips, p.IP)
	}
	l := newLab(t, ips...)
	for _, ip := range ips {
		l.listen(ip, 8080)
	}
	// Open before the rules: every pair connects.
	for _, a := range ips {
		for _, b := range ips {
			if a != b && !l.connects(a, b, 8080) {
				t.Fatalf("lab broken: %s cannot reach %s with no rules", a, b)
			}
		}
	}
	l.load(Compile(c, "n1"))
	checked, denied := 0, 0
	for _, a := range ips {
		for _, b := range ips {
			if a == b {
				continue
			}
			want := c.Allowed(Packet{Src: a, Dst: b, Protocol: "TCP", Port: 8080})
			if !want {
				denied++
			}
			if got := l.connects(a, b, 8080); got != want {
				t.Errorf("%s → %s:8080: kernel says %v, the spec %v", a, b, got, want)
			}
			checked++
		}
	}
	t.Logf("%d pod pairs judged by the kernel, %d of them denied", checked, denied)
	if denied == 0 || denied == checked {
		t.Fatalf("the example must both allow and deny (%d of %d denied)", denied, checked)
	}
}
