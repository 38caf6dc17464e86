package doctor

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMissingCapsNamesWhatTheBoundingSetLacks(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"000001ffffffffff": "",
		"000001fffeffffff": "CAP_SYS_RESOURCE",
		"000001fffffeffff": "CAP_SYS_MODULE",
		"000000fffeffffff": "CAP_SYS_RESOURCE,CAP_CHECKPOINT_RESTORE",
	}
	for mask, want := range cases {
		got, err := MissingCaps(mask)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("MissingCaps(%s) = %v, want %s", mask, got, want)
		}
	}
	if _, err := MissingCaps("zz"); err == nil {
		t.Error("garbage mask accepted")
	}
}

// fakeProc writes the files the checks read.
func fakeProc(t *testing.T, capBnd string, memKB, watches int) string {
	dir := t.TempDir()
	must := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must("self/status", "Name:\tx\nCapBnd:\t"+capBnd+"\n")
	must("meminfo", "MemTotal:       "+strconv.Itoa(memKB)+" kB\n")
	must("sys/fs/inotify/max_user_watches", strconv.Itoa(watches)+"\n")
	must("sys/fs/inotify/max_user_instances", "512\n")
	return dir
}

func find(cs []Check, name string) Check {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return Check{}
}

func TestDoctorExplainsEachFailureWithAFix(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	proc := fakeProc(t, "000001fffeffffff", 2<<20, 8192)
	cs := Run(t.Context(), Options{Docker: "/nonexistent/docker", Proc: proc, Sys: t.TempDir(), Ports: []int{busy}})
	for _, name := range []string{"container engine", "privileged containers", "memory", "inotify limits", "port " + strconv.Itoa(busy)} {
		c := find(cs, name)
		if c.Level != Fail || c.Fix == "" {
			t.Errorf("%s: %+v, want a failure with a fix", name, c)
		}
	}
	if !strings.Contains(find(cs, "privileged containers").Detail, "CAP_SYS_RESOURCE") {
		t.Error("privileged check does not name the missing capability")
	}
	if find(cs, "cgroup version").Level != Warn {
		t.Error("a host without cgroup.controllers is cgroup v1 and deserves a warning")
	}
	if !Failed(cs) {
		t.Error("Failed() = false")
	}
}

func TestDoctorPassesAHealthyHost(t *testing.T) {
	t.Parallel()
	proc := fakeProc(t, "000001ffffffffff", 16<<20, 524288)
	sys := t.TempDir()
	_ = os.MkdirAll(filepath.Join(sys, "fs/cgroup"), 0o755)
	_ = os.WriteFile(filepath.Join(sys, "fs/cgroup/cgroup.controllers"), []byte("cpu memory\n"), 0o644)
	cs := Run(t.Context(), Options{Docker: "/nonexistent/docker", Proc: proc, Sys: sys})
	for _, name := range []string{"privileged containers", "memory", "inotify limits", "cgroup version"} {
		if c := find(cs, name); c.Level != OK {
			t.Errorf("%s: %+v, want ok", name, c)
		}
	}
}
