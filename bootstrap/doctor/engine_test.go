package doctor

import (
	"os"
	"strings"
	"testing"
)

func recorded(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDoctorOnMacOSChecksDockerDesktopNotTheHost(t *testing.T) {
	t.Parallel()
	cs := Run(t.Context(), Options{Docker: "/nonexistent/docker", GOOS: "darwin",
		DockerInfo: recorded(t, "docker-info-desktop-mac.json"), DockerVersion: recorded(t, "docker-version-docker.txt"),
		DesktopSettings: "testdata/desktop-settings-mac.json", CacheDir: "/Users/jane/Library/Caches"})
	if c := find(cs, CheckEngineKind); c.Level != OK || !strings.Contains(c.Detail, "Docker Desktop 28.3.2") {
		t.Errorf("engine: %+v", c)
	}
	// 4113764352 bytes is 3.8 GiB: too little, and the fix is Desktop's setting.
	if c := find(cs, CheckDesktopMemory); c.Level != Fail || !strings.Contains(c.Fix, "Settings → Resources → Memory") {
		t.Errorf("memory: %+v", c)
	}
	if c := find(cs, CheckFileSharing); c.Level != OK || !strings.Contains(c.Detail, "under /Users") {
		t.Errorf("file sharing: %+v", c)
	}
	for _, linuxOnly := range []string{"cgroup version", "privileged containers", "memory", "inotify limits"} {
		if c := find(cs, linuxOnly); c.Name != "" {
			t.Errorf("a Linux host check ran on macOS: %+v", c)
		}
	}
	// A cache directory outside what Desktop shares.
	cs = Run(t.Context(), Options{Docker: "/nonexistent/docker", GOOS: "darwin", DockerInfo: recorded(t, "docker-info-desktop-mac.json"),
		DockerVersion: []byte{}, DesktopSettings: "testdata/desktop-settings-mac.json", CacheDir: "/opt/cache"})
	if c := find(cs, CheckFileSharing); c.Level != Warn || !strings.Contains(c.Fix, "add /opt/cache") {
		t.Errorf("unshared cache dir: %+v", c)
	}
}

func TestDoctorOnWindowsAcceptsTheWSLEngine(t *testing.T) {
	t.Parallel()
	info := []byte(strings.Replace(string(recorded(t, "docker-info-desktop-mac.json")), `"MemTotal":4113764352`, `"MemTotal":8340000000`, 1))
	cs := Run(t.Context(), Options{Docker: "/nonexistent/docker", GOOS: "windows", DockerInfo: info, DockerVersion: []byte{},
		DesktopSettings: "testdata/desktop-settings-windows.json", CacheDir: `C:\Users\jane\AppData\Local`})
	if c := find(cs, CheckFileSharing); c.Level != OK || !strings.Contains(c.Detail, "WSL 2") {
		t.Errorf("file sharing: %+v", c)
	}
	if c := find(cs, CheckDesktopMemory); c.Level != OK {
		t.Errorf("7.8 GiB: %+v", c)
	}
	cs = Run(t.Context(), Options{Docker: "/nonexistent/docker", GOOS: "windows", DockerInfo: info, DockerVersion: []byte{}, DesktopSettings: "testdata/none.json"})
	if c := find(cs, CheckFileSharing); c.Level != Warn || c.Fix == "" {
		t.Errorf("unreadable settings: %+v", c)
	}
}

func TestDoctorRefusesRootlessDockerAndPodmanWithTheReason(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ info, version, want string }{
		{"docker-info-rootless.json", "docker-version-docker.txt", "rootless Docker"},
		{"docker-info-podman.json", "docker-version-podman.txt", "Podman"},
	} {
		cs := Run(t.Context(), Options{Docker: "/nonexistent/docker", GOOS: "linux", Proc: t.TempDir(), Sys: t.TempDir(),
			DockerInfo: recorded(t, c.info), DockerVersion: recorded(t, c.version)})
		got := find(cs, CheckEngineKind)
		if got.Level != Fail || !strings.Contains(got.Detail, c.want) || got.Fix == "" || !Failed(cs) {
			t.Errorf("%s: %+v, want a failure naming %s with a fix", c.info, got, c.want)
		}
	}
	cs := Run(t.Context(), Options{Docker: "/nonexistent/docker", GOOS: "linux", Proc: t.TempDir(), Sys: t.TempDir(),
		DockerInfo: recorded(t, "docker-info-linux.json"), DockerVersion: recorded(t, "docker-version-docker.txt")})
	if got := find(cs, CheckEngineKind); got.Level != OK || !strings.Contains(got.Detail, "Docker 20.10.24+dfsg1 on Debian") {
		t.Errorf("the system engine: %+v", got)
	}
}
