package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/internal/shell"
)

// Engine check names.
const (
	CheckEngineKind    = "engine kind"
	CheckDesktopMemory = "Docker Desktop memory"
	CheckFileSharing   = "Docker Desktop file sharing"
)

// Info is what `docker info --format '{{json .}}'` says that the checks
// read.
type Info struct {
	OperatingSystem string   `json:"OperatingSystem"`
	ServerVersion   string   `json:"ServerVersion"`
	MemTotal        int64    `json:"MemTotal"`
	NCPU            int      `json:"NCPU"`
	SecurityOptions []string `json:"SecurityOptions"`
	CgroupVersion   string   `json:"CgroupVersion"`
	// Podman's Docker-compatible API names itself in the version's
	// components; `docker --version` of podman-docker says podman.
	podman bool
}

// readInfo asks the engine, unless the options carry recorded output.
func readInfo(ctx context.Context, o Options) (Info, error) {
	raw, version := o.DockerInfo, o.DockerVersion
	if raw == nil {
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		out, err := shell.Command(o.Docker, "info", "--format", "{{json .}}").Output(tctx)
		if err != nil {
			return Info{}, err
		}
		raw = []byte(out)
		v, _ := shell.Command(o.Docker, "version").Output(tctx)
		c, _ := shell.Command(o.Docker, "--version").Output(tctx)
		version = []byte(v + "\n" + c)
	}
	var info Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return Info{}, fmt.Errorf("docker info: %w", err)
	}
	info.podman = strings.Contains(strings.ToLower(string(version)), "podman")
	return info, nil
}

// engineKind refuses, with the reason, the engines ferry does not run on:
// Podman (ferry drives Docker's CLI and API, and kind's Podman provider,
// tried here, runs one node at most) and rootless Docker (ferry's nodes
// program nftables and cgroups and make device nodes as real root; kind's
// rootless mode needs cgroup v2 delegation and more, and ferry's node
// image is untested there).
func engineKind(info Info) Check {
	c := Check{Name: CheckEngineKind, Level: OK}
	switch {
	case info.podman:
		c.Level, c.Detail = Fail, "the engine is Podman: ferry drives Docker (kind's Podman provider ran one node at most when tried, and ferry's image loading, port lookups and GPU mounts speak Docker)"
		c.Fix = "install Docker Engine (apt-get install docker.io) and start it"
	case containsRootless(info.SecurityOptions):
		c.Level, c.Detail = Fail, "rootless Docker: ferry's nodes need real root (the node agent programs nftables, the kubelet writes cgroups, CDI makes device nodes), which a rootless engine's user namespace does not give; untested and refused"
		c.Fix = "use the system Docker engine (sudo systemctl start docker; add yourself to the docker group)"
	case strings.Contains(info.OperatingSystem, "Docker Desktop"):
		c.Detail = fmt.Sprintf("Docker Desktop %s (%s)", info.ServerVersion, info.OperatingSystem)
	default:
		c.Detail = fmt.Sprintf("Docker %s on %s", info.ServerVersion, info.OperatingSystem)
	}
	return c
}

func containsRootless(opts []string) bool {
	for _, o := range opts {
		if strings.Contains(o, "name=rootless") {
			return true
		}
	}
	return false
}

// desktop checks Docker Desktop on macOS and Windows: the memory given to
// its VM and, for GPU files that kind nodes mount, file sharing.
func desktop(info Info, o Options) []Check {
	mem := memoryCheck(CheckDesktopMemory, float64(info.MemTotal)/(1<<30))
	if mem.Level != OK {
		mem.Fix = "Docker Desktop → Settings → Resources → Memory: 8 GB or more (then Apply & restart)"
	}
	if !strings.Contains(info.OperatingSystem, "Docker Desktop") {
		return []Check{mem}
	}
	return []Check{mem, fileSharing(o)}
}

// fileSharing checks that the directory `ferry up` writes the nodes' GPU
// files to (the user cache directory) is shared with Docker Desktop's VM;
// nothing else ferry mounts comes from this machine.
func fileSharing(o Options) Check {
	c := Check{Name: CheckFileSharing}
	need := o.CacheDir
	if need == "" {
		need, _ = os.UserCacheDir()
	}
	settings := o.DesktopSettings
	if settings == "" {
		settings = desktopSettingsPath(o.GOOS)
	}
	data, err := os.ReadFile(settings)
	if err != nil {
		c.Level, c.Detail = Warn, "could not read Docker Desktop's settings ("+settings+")"
		c.Fix = "Docker Desktop → Settings → Resources → File sharing: include " + need + " (only --gpu fake needs it)"
		return c
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		c.Level, c.Detail, c.Fix = Warn, settings+": "+err.Error(), "check Docker Desktop's file sharing by hand"
		return c
	}
	if v, ok := s["WslEngineEnabled"].(bool); ok && v || s["wslEngineEnabled"] == true {
		c.Level, c.Detail = OK, "the WSL 2 engine shares the Windows drives"
		return c
	}
	var shared []string
	for _, key := range []string{"FilesharingDirectories", "filesharingDirectories"} {
		if list, ok := s[key].([]any); ok {
			for _, d := range list {
				if d, ok := d.(string); ok {
					shared = append(shared, d)
				}
			}
		}
	}
	for _, d := range shared {
		if rel, err := filepath.Rel(d, need); err == nil && !strings.HasPrefix(rel, "..") {
			c.Level, c.Detail = OK, need+" is shared (under "+d+")"
			return c
		}
	}
	c.Level, c.Detail = Warn, fmt.Sprintf("%s is not under a shared directory (%s): kind nodes cannot mount the GPU files ferry writes there", need, strings.Join(shared, ", "))
	c.Fix = "Docker Desktop → Settings → Resources → File sharing: add " + need + " (only --gpu fake needs it)"
	return c
}

func desktopSettingsPath(goos string) string {
	home, _ := os.UserHomeDir()
	if goos == "windows" {
		return filepath.Join(os.Getenv("APPDATA"), "Docker", "settings-store.json")
	}
	return filepath.Join(home, "Library", "Group Containers", "group.com.docker", "settings-store.json")
}
