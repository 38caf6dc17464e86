package linuxbin

import (
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeELF writes the smallest ELF64 file debug/elf reads, for machine.
func fakeELF(t *testing.T, path string, machine elf.Machine, body string) string {
	t.Helper()
	h := make([]byte, 64)
	copy(h, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le := binary.LittleEndian
	le.PutUint16(h[16:], uint16(elf.ET_EXEC))
	le.PutUint16(h[18:], uint16(machine))
	le.PutUint32(h[20:], 1)
	le.PutUint16(h[52:], 64)
	le.PutUint16(h[54:], 56)
	le.PutUint16(h[58:], 64)
	if err := os.WriteFile(path, append(h, body...), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := Digest(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// release lays out what a release archive unpacks to: ferry, the two
// carried builds and the manifest (edit changes it before it is written).
func release(t *testing.T, edit func(m *Manifest)) Self {
	t.Helper()
	dir := t.TempDir()
	self := Self{Path: filepath.Join(dir, "ferry"), OS: "darwin", Arch: "arm64", Version: "v1.2.0", Commit: "abc123"}
	if err := os.WriteFile(self.Path, []byte("a Mach-O, say"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := Manifest{Version: self.Version, Commit: self.Commit, Builds: map[string]Carried{
		"linux/amd64": {File: FileName("amd64"), SHA256: fakeELF(t, filepath.Join(dir, FileName("amd64")), elf.EM_X86_64, "amd64 build")},
		"linux/arm64": {File: FileName("arm64"), SHA256: fakeELF(t, filepath.Join(dir, FileName("arm64")), elf.EM_AARCH64, "arm64 build")},
	}}
	if edit != nil {
		edit(&m)
	}
	data, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, ManifestName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return self
}

func TestALinuxFerryOfTheNodesArchitectureIsItsOwnImage(t *testing.T) {
	t.Parallel()
	self := Self{Path: "/usr/local/bin/ferry", OS: "linux", Arch: "amd64", Version: "v1", Commit: "c"}
	if got, err := For(self, "amd64"); err != nil || got != self.Path {
		t.Fatalf("For = %q, %v; want the executable itself", got, err)
	}
}

func TestACarriedBuildIsPickedPerArchitecture(t *testing.T) {
	t.Parallel()
	self := release(t, nil)
	for _, arch := range Arches {
		got, err := For(self, arch)
		if err != nil || got != filepath.Join(filepath.Dir(self.Path), "ferry-linux-"+arch) {
			t.Errorf("%s: %q %v", arch, got, err)
		}
	}
	// A linux/amd64 ferry with arm64 nodes uses the carried arm64 build too.
	self.OS, self.Arch = "linux", "amd64"
	if got, err := For(self, "arm64"); err != nil || !strings.HasSuffix(got, "ferry-linux-arm64") {
		t.Fatalf("linux/amd64 for arm64 nodes: %q %v", got, err)
	}
	var platforms []string
	for _, b := range Carrying(self) {
		if b.Problem != "" {
			t.Errorf("%s: %s", b.Platform, b.Problem)
		}
		platforms = append(platforms, b.Platform)
	}
	if strings.Join(platforms, " ") != "linux/amd64 linux/arm64" {
		t.Fatalf("carrying %v", platforms)
	}
}

func TestAMissingOrMismatchedBuildIsAClearError(t *testing.T) {
	t.Parallel()
	bare := Self{Path: filepath.Join(t.TempDir(), "ferry"), OS: "darwin", Arch: "arm64", Version: "v1", Commit: "c"}
	cases := []struct {
		name string
		self Self
		arch string
		want string
	}{
		{"nothing carried", bare, "amd64", "needs ferry-linux-amd64 beside it"},
		{"unknown architecture", bare, "s390x", `"s390x"`},
		{"another release's manifest", release(t, func(m *Manifest) { m.Version = "v1.1.0" }), "amd64", "is of ferry v1.1.0 (commit abc123), this ferry is v1.2.0"},
		{"a build replaced", release(t, func(m *Manifest) {
			m.Builds["linux/amd64"] = Carried{File: FileName("amd64"), SHA256: strings.Repeat("0", 64)}
		}), "amd64", "has SHA-256"},
		{"the wrong architecture in a slot", release(t, func(m *Manifest) { m.Builds["linux/amd64"] = m.Builds["linux/arm64"] }), "amd64", "ELF for EM_AARCH64, not linux/amd64"},
		{"a build not listed", release(t, func(m *Manifest) { delete(m.Builds, "linux/arm64") }), "arm64", "lists no linux/arm64 build"},
		{"a manifest naming a path elsewhere", release(t, func(m *Manifest) {
			c := m.Builds["linux/amd64"]
			c.File = "../../etc/passwd"
			m.Builds["linux/amd64"] = c
		}), "amd64", "passwd: not a Linux executable"},
	}
	for _, c := range cases {
		if _, err := For(c.self, c.arch); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}
