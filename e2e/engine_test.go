//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/bootstrap/kind"
)

// The air-gap test's own Docker engine: a second dockerd with its own data
// root, exec root and socket, started empty for the test and removed after
// it, so that "nothing in the engine" is true without touching the host
// engine's images (the node and workload images later tests and CI reuse).
//
// It shares the host's kernel and firewall with the host engine, so it is
// configured not to fight it: no iptables rules of its own (a second
// dockerd managing iptables removes the first one's DOCKER chains when it
// starts), a default bridge of its own made for it (with the default name
// it would take over docker0, and with none at all, "bridge": "none", it
// deletes docker0 when it starts), addresses from a pool of its own. Its kind
// network ("ferry") is made before kind would make it, on a bridge with a
// known name, and one DOCKER-USER rule lets traffic between that bridge's
// containers through the FORWARD chain (Docker sets its policy to DROP,
// and bridged frames pass it when br_netfilter is loaded). Nothing there
// needs to leave the machine: the test is air-gapped.
const (
	engineName   = "ferry-e2e-docker"
	engineBridge = "ferrye2e0"
	enginePool   = "10.213.0.0/16"
	engineSubnet = "10.213.0.0/24"
	// where the nodes reach the host (testRegistry's registry listens there)
	engineGateway = "10.213.0.1"
	// its default bridge network, which nothing of the test uses
	engineDefault     = "ferrye2e1"
	engineDefaultAddr = "10.212.255.1/24"
)

// engine is a running second dockerd.
type engine struct {
	sock, dataRoot, execRoot, pidfile string
	cmd                               *exec.Cmd
}

// startEngine starts an empty engine, points every docker command of the
// test (and of the ferry commands it runs) at it with DOCKER_HOST, and
// registers its removal. With FERRY_E2E_KEEP=1 a failed test leaves it
// running and says how to reach it.
func startEngine(t *testing.T) *engine {
	t.Helper()
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		t.Fatalf("the air-gap test runs an engine of its own and needs dockerd (hack/setup-host.sh installs docker.io): %v", err)
	}
	e := &engine{sock: "/run/" + engineName + ".sock", dataRoot: "/var/lib/" + engineName,
		execRoot: "/run/" + engineName, pidfile: "/run/" + engineName + ".pid"}
	e.stopLeftover(t) // a run killed before its cleanup
	if err := e.removeState(); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"data-root": e.dataRoot, "exec-root": e.execRoot, "pidfile": e.pidfile,
		"hosts": []string{"unix://" + e.sock}, "iptables": false, "ip-masq": false, "bridge": engineDefault,
		"default-address-pools": []map[string]any{{"base": enginePool, "size": 24}},
	}
	// The host engine's runtimes (setup-host's capstrip wrapper, on hosts
	// whose capability bounding set --privileged cannot satisfy).
	if b, err := os.ReadFile("/etc/docker/daemon.json"); err == nil {
		var host map[string]any
		if json.Unmarshal(b, &host) == nil {
			for _, k := range []string{"runtimes", "default-runtime"} {
				if v, ok := host[k]; ok {
					cfg[k] = v
				}
			}
		}
	}
	dropBridges() // left by a killed run
	for _, c := range [][]string{{"link", "add", engineDefault, "type", "bridge"}, {"addr", "add", engineDefaultAddr, "dev", engineDefault},
		{"link", "set", engineDefault, "up"}} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("the air-gap engine's default bridge: ip %s: %v %s", strings.Join(c, " "), err, out)
		}
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "daemon.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	e.cmd = exec.Command(dockerd, "--config-file", cfgFile)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", "unix://"+e.sock)
	t.Cleanup(func() {
		if t.Failed() && keepFailed() {
			t.Logf("keeping the air-gap engine (FERRY_E2E_KEEP=1): DOCKER_HOST=unix://%s; stop it with kill %d", e.sock, e.cmd.Process.Pid)
			return
		}
		e.stop(t)
		_ = logf.Close()
	})
	deadline := time.Now().Add(time.Minute)
	for exec.Command("docker", "info").Run() != nil {
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("the air-gap engine did not start in a minute; its log:\n%s", tail(string(out), 30))
		}
		time.Sleep(300 * time.Millisecond)
	}
	if out, err := exec.Command("docker", "network", "create", "--driver", "bridge", "--subnet", engineSubnet, "--gateway", engineGateway,
		"-o", "com.docker.network.bridge.name="+engineBridge, kind.Network).CombinedOutput(); err != nil {
		t.Fatalf("the air-gap engine's network: %v %s", err, out)
	}
	if out, err := exec.Command("iptables", e.forwardRule("-I")...).CombinedOutput(); err != nil {
		t.Fatalf("let the air-gap engine's bridge forward: %v %s", err, out)
	}
	t.Logf("air-gap engine: dockerd %d on %s, data root %s, network %s on bridge %s (%s)",
		e.cmd.Process.Pid, e.sock, e.dataRoot, kind.Network, engineBridge, engineSubnet)
	return e
}

// forwardRule is the DOCKER-USER rule for the engine's bridge, with op -I or -D.
func (e *engine) forwardRule(op string) []string {
	return []string{op, "DOCKER-USER", "-i", engineBridge, "-o", engineBridge, "-j", "ACCEPT"}
}

// stop ends the engine (its containers with it), removes the firewall rule
// and everything it stored.
func (e *engine) stop(t *testing.T) {
	t.Helper()
	if e.cmd != nil && e.cmd.Process != nil {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = e.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	for exec.Command("iptables", e.forwardRule("-D")...).Run() == nil {
	}
	dropBridges()
	if err := e.removeState(); err != nil {
		t.Errorf("remove the air-gap engine's data: %v", err)
	}
}

// dropBridges deletes the engine's bridges (its default one, and its kind
// network's, which outlives a stopped dockerd).
func dropBridges() {
	for _, br := range []string{engineDefault, engineBridge} {
		_ = exec.Command("ip", "link", "delete", br).Run()
	}
}

// stopLeftover stops an engine an earlier run left at the pidfile.
func (e *engine) stopLeftover(t *testing.T) {
	b, err := os.ReadFile(e.pidfile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || syscall.Kill(pid, 0) != nil {
		return
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); !strings.Contains(string(cmdline), "dockerd") {
		return
	}
	t.Logf("stopping the air-gap engine an earlier run left (pid %d)", pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(300 * time.Millisecond)
	}
	for exec.Command("iptables", e.forwardRule("-D")...).Run() == nil {
	}
}

// removeState unmounts what a killed engine left mounted under its roots
// and removes them.
func (e *engine) removeState() error {
	for _, root := range []string{e.dataRoot, e.execRoot} {
		if b, err := os.ReadFile("/proc/self/mounts"); err == nil {
			var under []string
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], root+"/") {
					under = append(under, f[1])
				}
			}
			for i := len(under) - 1; i >= 0; i-- {
				_ = syscall.Unmount(under[i], syscall.MNT_DETACH)
			}
		}
		if err := os.RemoveAll(root); err != nil {
			return err
		}
	}
	_ = os.Remove(e.sock)
	return nil
}

// images are the image IDs the engine holds.
func (e *engine) images(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", "images", "-aq").CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
