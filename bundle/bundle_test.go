package bundle

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarOf builds a tar archive of name → content, in order.
func tarOf(t testing.TB, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Size: int64(len(f[1])), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dockerArchive writes what `docker save` writes for images whose layers
// are given as file contents; images share a layer when they name the same one.
func dockerArchive(t testing.TB, dir string, images map[string][]string) string {
	t.Helper()
	var files [][2]string
	var dms []dockerManifest
	seenLayer := map[string]bool{}
	i := 0
	for tag, layers := range images {
		dm := dockerManifest{RepoTags: []string{tag}}
		for _, l := range layers {
			name := "layer-" + l + "/layer.tar"
			if !seenLayer[name] {
				seenLayer[name] = true
				files = append(files, [2]string{name, string(tarOf(t, [2]string{"file-" + l, strings.Repeat(l, 3000)}))})
			}
			dm.Layers = append(dm.Layers, name)
		}
		cfg := fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Cmd":["%s"]}}`, tag)
		dm.Config = fmt.Sprintf("config-%d.json", i)
		files = append(files, [2]string{dm.Config, cfg})
		dms = append(dms, dm)
		i++
	}
	raw, _ := json.Marshal(dms)
	files = append(files, [2]string{"manifest.json", string(raw)})
	p := filepath.Join(dir, fmt.Sprintf("save-%d.tar", time.Now().UnixNano()))
	if err := os.WriteFile(p, tarOf(t, files...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sample writes a bundle of two images sharing a layer, plus a file.
func sample(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	var buf bytes.Buffer
	w := NewWriter(&buf, "v-test", time.Unix(1_700_000_000, 0), nil)
	if _, err := w.AddDockerArchive(dockerArchive(t, dir, map[string][]string{"ferry/node:v1": {"a", "b"}}), RoleNode); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddDockerArchive(dockerArchive(t, dir, map[string][]string{"ferry.local/app:1": {"b", "c"}}), RoleUser); err != nil {
		t.Fatal(err)
	}
	bin := []byte("#!/bin/true\n")
	if err := w.AddFile("bin/ferry-linux-amd64", RoleBinary, int64(len(bin)), bytes.NewReader(bin)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBundleRoundTripStoresSharedLayersOnceAndExportsForDockerLoad(t *testing.T) {
	t.Parallel()
	b := sample(t)
	dir := filepath.Join(t.TempDir(), "x")
	m, err := Read(bytes.NewReader(b), ReadOptions{ExtractDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Images) != 2 || m.FerryVersion != "v-test" || len(m.Files) != 1 {
		t.Fatalf("manifest %+v", m)
	}
	// 3 distinct layers + 2 configs + 2 manifests: the shared layer once.
	if len(m.Blobs) != 7 {
		t.Fatalf("%d blobs, want 7 (shared layer stored once)", len(m.Blobs))
	}
	var sum int64
	for _, img := range m.Images {
		sum += img.Size
	}
	if m.TotalSize() >= sum+int64(len("#!/bin/true\n"))+2000 {
		t.Logf("sizes: images %d, bundle payload %d", sum, m.TotalSize())
	}
	node, _ := m.Image(RoleNode)
	if node.Ref != "ferry/node:v1" || node.Layers != 2 {
		t.Fatalf("node image %+v", node)
	}
	d := &Dir{Path: dir, Manifest: m}
	if got, _ := os.ReadFile(d.File("files/bin/ferry-linux-amd64")); string(got) != "#!/bin/true\n" {
		t.Fatalf("extracted binary %q", got)
	}
	// Export both images as a docker archive, bundle that again: same digests.
	exported := filepath.Join(t.TempDir(), "export.tar")
	f, err := os.Create(exported)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteDockerArchive(f, m.Images...); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var again bytes.Buffer
	w := NewWriter(&again, "v-test", time.Now(), nil)
	infos, err := w.AddDockerArchive(exported, RoleComponent)
	if err != nil {
		t.Fatal(err)
	}
	for i, info := range infos {
		if info.Digest != m.Images[i].Digest || info.Ref != m.Images[i].Ref {
			t.Errorf("re-bundled %s has digest %s, was %s", info.Ref, info.Digest, m.Images[i].Digest)
		}
	}
}

// rewrite copies a bundle's entries through edit, which may change or drop
// an entry (return nil) or add entries after it.
func rewrite(t *testing.T, b []byte, edit func(h *tar.Header, data []byte) [][2]any) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		for _, e := range edit(h, data) {
			hh := e[0].(*tar.Header)
			dd, _ := e[1].([]byte)
			hh.Size = int64(len(dd))
			if hh.Typeflag != tar.TypeReg {
				hh.Size = 0
				dd = nil
			}
			if err := tw.WriteHeader(hh); err != nil {
				t.Fatal(err)
			}
			tw.Write(dd)
		}
	}
	tw.Close()
	return out.Bytes()
}

func keep(h *tar.Header, data []byte) [][2]any { return [][2]any{{h, data}} }

func TestCorruptBundlesAreRefusedAndExtractNothing(t *testing.T) {
	t.Parallel()
	good := sample(t)
	firstBlob := func(h *tar.Header) bool { return strings.HasPrefix(h.Name, BlobsDir) }
	done := false
	once := func(f func(h *tar.Header, data []byte) [][2]any) func(h *tar.Header, data []byte) [][2]any {
		done = false
		return func(h *tar.Header, data []byte) [][2]any {
			if !done && firstBlob(h) && len(data) > 100 {
				done = true
				return f(h, data)
			}
			return keep(h, data)
		}
	}
	cases := map[string][]byte{
		"truncated in the middle": good[:len(good)/2],
		"truncated at the end":    good[:len(good)-1536],
		"flipped byte in a layer": rewrite(t, good, once(func(h *tar.Header, d []byte) [][2]any {
			d = bytes.Clone(d)
			d[len(d)/2] ^= 0xff
			return [][2]any{{h, d}}
		})),
		"missing blob": rewrite(t, good, once(func(h *tar.Header, d []byte) [][2]any { return nil })),
		"path traversal": rewrite(t, good, func(h *tar.Header, d []byte) [][2]any {
			if h.Name == LayoutName {
				return [][2]any{{h, d}, {&tar.Header{Name: "files/../../../tmp/evil", Mode: 0o644, Typeflag: tar.TypeReg}, []byte("x")}}
			}
			return keep(h, d)
		}),
		"absolute path": rewrite(t, good, func(h *tar.Header, d []byte) [][2]any {
			if h.Name == LayoutName {
				return [][2]any{{h, d}, {&tar.Header{Name: "/etc/evil", Mode: 0o644, Typeflag: tar.TypeReg}, []byte("x")}}
			}
			return keep(h, d)
		}),
		"symlink": rewrite(t, good, func(h *tar.Header, d []byte) [][2]any {
			if h.Name == LayoutName {
				return [][2]any{{h, d}, {&tar.Header{Name: "files/link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}, nil}}
			}
			return keep(h, d)
		}),
		"duplicate entry": rewrite(t, good, func(h *tar.Header, d []byte) [][2]any {
			if h.Name == LayoutName {
				return [][2]any{{h, d}, {&tar.Header{Name: LayoutName, Mode: 0o644, Typeflag: tar.TypeReg}, d}}
			}
			return keep(h, d)
		}),
		"unlisted extra blob": rewrite(t, good, func(h *tar.Header, d []byte) [][2]any {
			if h.Name == LayoutName {
				name := BlobsDir + "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" // sha256("foo")
				return [][2]any{{h, d}, {&tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg}, []byte("foo")}}
			}
			return keep(h, d)
		}),
		"tampered binary with a matching manifest edit missing": rewrite(t, good, func(h *tar.Header, d []byte) [][2]any {
			if strings.HasPrefix(h.Name, FilesDir) {
				return [][2]any{{h, []byte("#!/bin/evil\n")}}
			}
			return keep(h, d)
		}),
		"tampered manifest digest": rewrite(t, good, func(h *tar.Header, d []byte) [][2]any {
			if h.Name == ManifestName {
				var m Manifest
				json.Unmarshal(d, &m)
				m.Images[0].Digest = m.Images[1].Digest
				d, _ = json.Marshal(m)
			}
			return keep(h, d)
		}),
		"not a bundle": tarOf(t, [2]string{"hello.txt", "hi"}),
		"empty":        nil,
	}
	for name, b := range cases {
		parent := t.TempDir()
		dir := filepath.Join(parent, "x")
		_, err := Read(bytes.NewReader(b), ReadOptions{ExtractDir: dir})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v is not ErrCorrupt", name, err)
		}
		if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
			t.Errorf("%s: the extraction directory was left behind (%v)", name, err)
		}
		if _, statErr := os.Stat(filepath.Join(parent, "..", "tmp", "evil")); statErr == nil {
			t.Errorf("%s: wrote outside the extraction directory", name)
		}
	}
	if _, err := Read(bytes.NewReader(good), ReadOptions{}); err != nil {
		t.Fatalf("the good bundle: %v", err)
	}
}

func TestExtractRefusesANonEmptyDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keep-me"), []byte("x"), 0o600)
	if _, err := Read(bytes.NewReader(sample(t)), ReadOptions{ExtractDir: dir}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("non-empty dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep-me")); err != nil {
		t.Fatal("a refused extraction removed the user's file")
	}
}

func TestEntryNames(t *testing.T) {
	t.Parallel()
	good := []string{ManifestName, LayoutName, IndexName, BlobsDir + strings.Repeat("a", 64), "files/charts/platform.tgz"}
	bad := []string{"", "/abs", "files/../x", "files/./x", "./files/x", "oci/blobs/sha256/xyz", "other/x", "files/", "files\\x", "files//x", BlobsDir + strings.Repeat("A", 64)}
	for _, n := range good {
		if err := checkName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := checkName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func FuzzRead(f *testing.F) {
	good := sample(f)
	f.Add(good)
	f.Add(good[:len(good)/3])
	f.Add(tarOf(f, [2]string{"files/../x", "y"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "x")
		m, err := Read(bytes.NewReader(b), ReadOptions{ExtractDir: dir, MaxSmall: 1 << 20})
		ents, _ := os.ReadDir(parent)
		if err != nil {
			if len(ents) != 0 {
				t.Fatalf("a refused bundle left %d entries behind", len(ents))
			}
			return
		}
		if len(ents) != 1 || len(m.Images) == 0 {
			t.Fatalf("accepted bundle: %d entries in parent, %d images", len(ents), len(m.Images))
		}
	})
}
