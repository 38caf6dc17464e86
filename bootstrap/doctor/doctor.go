// Package doctor checks that a host can run ferry's local cluster and says,
// for each failure, why and how to fix it.
package doctor

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/internal/shell"
)

// Level is a check's outcome.
type Level string

// Outcomes.
const (
	OK   Level = "ok"
	Warn Level = "warn"
	Fail Level = "fail"
)

// Check is one finding.
type Check struct {
	Name   string `json:"name"`
	Level  Level  `json:"level"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Options configures the checks.
type Options struct {
	Docker string
	// Ports that must be free on 127.0.0.1.
	Ports []int
	// Proc and Sys roots (tests point them at fixtures).
	Proc, Sys string
	// SMI and NvidiaCTK are nvidia-smi's and nvidia-ctk's paths ("" looks
	// them up on PATH); CDIDirs the host's CDI spec directories.
	SMI, NvidiaCTK string
	CDIDirs        []string
	// GOOS is the host's OS (default runtime.GOOS): macOS and Windows run
	// the engine in Docker Desktop's VM, so its checks replace the host's.
	GOOS string
	// DockerInfo and DockerVersion, when set, are recorded outputs of
	// `docker info --format '{{json .}}'` and `docker version` (tests).
	DockerInfo, DockerVersion []byte
	// DesktopSettings is Docker Desktop's settings file (default: its
	// place on this OS); CacheDir the directory that must be shared.
	DesktopSettings, CacheDir string
}

func (o *Options) defaults() {
	if o.Docker == "" {
		o.Docker = "docker"
	}
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Sys == "" {
		o.Sys = "/sys"
	}
	if o.GOOS == "" {
		o.GOOS = runtime.GOOS
	}
}

// Run performs every check.
func Run(ctx context.Context, o Options) []Check {
	o.defaults()
	checks := []Check{engine(ctx, o)}
	engineOK := checks[0].Level == OK || o.DockerInfo != nil
	if engineOK {
		if info, err := readInfo(ctx, o); err != nil {
			checks = append(checks, Check{Name: CheckEngineKind, Level: Warn, Detail: err.Error()})
		} else {
			checks = append(checks, engineKind(info))
			if o.GOOS != "linux" {
				checks = append(checks, desktop(info, o)...)
			}
		}
	}
	if o.GOOS == "linux" {
		checks = append(checks, cgroups(o), privileged(ctx, o, checks[0].Level == OK), memory(o), inotify(o))
	}
	for _, p := range o.Ports {
		checks = append(checks, port(p))
	}
	return append(checks, gpus(ctx, o)...)
}

// Failed reports whether any check failed.
func Failed(cs []Check) bool {
	for _, c := range cs {
		if c.Level == Fail {
			return true
		}
	}
	return false
}

func engine(ctx context.Context, o Options) Check {
	c := Check{Name: "container engine"}
	if _, err := shell.Command("sh", "-c", "command -v "+o.Docker).Output(ctx); err != nil {
		c.Level, c.Detail, c.Fix = Fail, o.Docker+" is not installed", "apt-get install docker.io"
		return c
	}
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := shell.Command(o.Docker, "version", "--format", "{{.Server.Version}}").Output(tctx)
	if err != nil {
		c.Level, c.Detail, c.Fix = Fail, "the Docker engine is not running or not reachable", "start it: systemctl start docker (or dockerd &)"
		return c
	}
	c.Level, c.Detail = OK, "Docker "+strings.TrimSpace(v)+" running"
	return c
}

func cgroups(o Options) Check {
	c := Check{Name: "cgroup version", Level: OK}
	if _, err := os.Stat(o.Sys + "/fs/cgroup/cgroup.controllers"); err == nil {
		c.Detail = "cgroup v2"
		return c
	}
	c.Level = Warn
	c.Detail = "cgroup v1: kubelet 1.35+ refuses it by default; ferry's cluster config sets failCgroupV1: false"
	c.Fix = "boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2 (optional)"
	return c
}

// capNames is indexed by capability number.
var capNames = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}

// MissingCaps lists the capabilities absent from a CapBnd hex mask.
func MissingCaps(capBnd string) ([]string, error) {
	bits, err := strconv.ParseUint(strings.TrimSpace(capBnd), 16, 64)
	if err != nil {
		return nil, fmt.Errorf("parse CapBnd %q: %w", capBnd, err)
	}
	var out []string
	for i, n := range capNames {
		if bits&(1<<uint(i)) == 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

func statusField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func privileged(ctx context.Context, o Options, engineOK bool) Check {
	c := Check{Name: "privileged containers"}
	missing, err := MissingCaps(statusField(o.Proc+"/self/status", "CapBnd"))
	if err != nil {
		c.Level, c.Detail = Warn, err.Error()
		return c
	}
	if len(missing) == 0 {
		c.Level, c.Detail = OK, "the capability bounding set is complete"
		return c
	}
	runtime := ""
	if engineOK {
		runtime, _ = shell.Command(o.Docker, "info", "--format", "{{.DefaultRuntime}}").Output(ctx)
		runtime = strings.TrimSpace(runtime)
	}
	if runtime != "" && runtime != "runc" && runtime != "io.containerd.runc.v2" {
		c.Level = OK
		c.Detail = fmt.Sprintf("the host lacks %s, and Docker's default runtime %q is a wrapper that can drop them", strings.Join(missing, ", "), runtime)
		return c
	}
	c.Level = Fail
	c.Detail = fmt.Sprintf("the host's capability bounding set lacks %s; `docker run --privileged` (which kind needs) asks for every capability and fails with \"unable to apply caps: operation not permitted\"", strings.Join(missing, ", "))
	c.Fix = "register an OCI runtime wrapper that drops capabilities the host lacks as Docker's default runtime (hack/setup-host.sh in ferry's repository does it for test hosts: runtimes.capstrip + default-runtime in /etc/docker/daemon.json, then kill -HUP dockerd)"
	return c
}

func memory(o Options) Check {
	kb, _ := strconv.ParseInt(strings.Fields(statusField(o.Proc+"/meminfo", "MemTotal") + " 0")[0], 10, 64)
	return memoryCheck("memory", float64(kb)/(1<<20))
}

func memoryCheck(name string, gib float64) Check {
	c := Check{Name: name}
	switch {
	case gib >= 7.5: // "8 GB" machines and VMs report a little less
		c.Level, c.Detail = OK, fmt.Sprintf("%.1f GiB", gib)
	case gib >= 4:
		c.Level, c.Detail, c.Fix = Warn, fmt.Sprintf("%.1f GiB: enough for the platform, tight for training jobs", gib), "8 GiB or more is comfortable"
	default:
		c.Level, c.Detail, c.Fix = Fail, fmt.Sprintf("%.1f GiB: a kind node and the platform need about 4 GiB", gib), "use a machine with at least 4 GiB"
	}
	return c
}

func inotify(o Options) Check {
	c := Check{Name: "inotify limits", Level: OK}
	read := func(name string) int {
		b, _ := os.ReadFile(o.Proc + "/sys/fs/inotify/" + name)
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	watches, instances := read("max_user_watches"), read("max_user_instances")
	c.Detail = fmt.Sprintf("max_user_watches=%d max_user_instances=%d", watches, instances)
	if watches < 524288 || instances < 512 {
		c.Level = Fail
		c.Fix = "sysctl -w fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 (kubelet and systemd in each node run out otherwise: \"too many open files\")"
	}
	return c
}

func port(p int) Check {
	c := Check{Name: fmt.Sprintf("port %d", p)}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		c.Level, c.Detail, c.Fix = Fail, fmt.Sprintf("127.0.0.1:%d is in use", p), fmt.Sprintf("stop what listens on it (ss -ltnp 'sport = :%d')", p)
		return c
	}
	ln.Close()
	c.Level, c.Detail = OK, "free"
	return c
}
