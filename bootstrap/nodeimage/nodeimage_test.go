package nodeimage

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestInputHashIsStableAndTagIsVersionPlusHash(t *testing.T) {
	t.Parallel()
	first, second := InputHash(), InputHash()
	if first != second || len(first) != 64 {
		t.Fatalf("InputHash is not a stable SHA-256: %s then %s", first, second)
	}
	if !regexp.MustCompile(`^ferry/node:v1\.37\.2-[0-9a-f]{12}$`).MatchString(Tag()) {
		t.Fatalf("Tag() = %s", Tag())
	}
}

func TestTreeHashChangesWithAnyFileContentOrName(t *testing.T) {
	t.Parallel()
	base := fstest.MapFS{"a/x": {Data: []byte("1")}, "a/y/z": {Data: []byte("2")}}
	hash := func(fs fstest.MapFS) string {
		var b strings.Builder
		hashTree(&b, fs, "a")
		return b.String()
	}
	h0 := hash(base)
	changed := fstest.MapFS{"a/x": {Data: []byte("1")}, "a/y/z": {Data: []byte("3")}}
	renamed := fstest.MapFS{"a/x": {Data: []byte("1")}, "a/y/w": {Data: []byte("2")}}
	added := fstest.MapFS{"a/x": {Data: []byte("1")}, "a/y/z": {Data: []byte("2")}, "a/new": {Data: nil}}
	for name, fs := range map[string]fstest.MapFS{"content": changed, "name": renamed, "added": added} {
		if hash(fs) == h0 {
			t.Errorf("a %s change did not change the tree hash", name)
		}
	}
	if hash(fstest.MapFS{"a/y/z": {Data: []byte("2")}, "a/x": {Data: []byte("1")}}) != h0 {
		t.Error("the tree hash depends on map order")
	}
}

func TestStepHashesAreNarrowerThanTheImageHash(t *testing.T) {
	t.Parallel()
	// Node files are not inputs of the binaries or the rootfs: editing the
	// entrypoint must not rebuild Kubernetes or re-run debootstrap.
	if strings.Contains(binHash(), InputHash()[:16]) || len(binHash()) != 16 || len(rootfsHash()) != 16 {
		t.Fatalf("binHash %s rootfsHash %s", binHash(), rootfsHash())
	}
}

func TestAptMirrorReadsBothSourceFormatsAndSkipsSecurity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	list := filepath.Join(dir, "sources.list")
	d := filepath.Join(dir, "sources.list.d")
	_ = os.MkdirAll(d, 0o755)
	_ = os.WriteFile(list, []byte("# comment\n"), 0o644)
	_ = os.WriteFile(filepath.Join(d, "debian.sources"), []byte("Types: deb\nURIs: http://security.example/debian-security\n\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"), 0o644)
	got, err := AptMirror(list, d)
	if err != nil || got != "http://mirror.example/debian" {
		t.Fatalf("deb822: %q, %v", got, err)
	}
	_ = os.WriteFile(list, []byte("deb [arch=amd64] https://other.example/debian bookworm main\n"), 0o644)
	if got, _ := AptMirror(list, d); got != "https://other.example/debian" {
		t.Fatalf("one-line format: %q", got)
	}
	if _, err := AptMirror(filepath.Join(dir, "none"), filepath.Join(dir, "none.d")); err == nil {
		t.Fatal("no sources: want an error")
	}
}

func TestParseLddFindsAbsoluteLibraries(t *testing.T) {
	t.Parallel()
	out := "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibnftables.so.1 => /lib/x86_64-linux-gnu/libnftables.so.1 (0x7f)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f)\n\tlibfoo.so => not found\n"
	got := parseLdd(out)
	if strings.Join(got, ",") != "/lib/x86_64-linux-gnu/libnftables.so.1,/lib64/ld-linux-x86-64.so.2" {
		t.Fatalf("parseLdd = %v", got)
	}
}

func TestKubeLDFlagsStampVersion(t *testing.T) {
	t.Parallel()
	ld := kubeLDFlags()
	for _, want := range []string{"k8s.io/component-base/version.gitVersion=v1.37.2", "k8s.io/client-go/pkg/version.gitMinor=37"} {
		if !strings.Contains(ld, want) {
			t.Errorf("ldflags lack %s", want)
		}
	}
}
