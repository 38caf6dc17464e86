package platformimage

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func fakeBinary(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ferry")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImageHoldsTheBinaryAsNonRootEntrypoint(t *testing.T) {
	t.Parallel()
	img, err := Build(fakeBinary(t, "#!binary-v1"), "v0.1.0+dirty", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(img.Ref.String(), "ferry.local/ferry:v0.1.0-dirty-") {
		t.Fatalf("tag = %s", img.Ref)
	}
	cfg, err := img.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.Entrypoint[0] != "/ferry" || cfg.Config.User != "65532:65532" || cfg.OS != "linux" || cfg.Architecture != "arm64" {
		t.Fatalf("config = %+v", cfg.Config)
	}
	layers, _ := img.Image.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, _ := layers[0].Uncompressed()
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		found[h.Name] = string(b)
		if h.Name == "ferry" && h.Mode != 0o755 {
			t.Errorf("ferry mode %o", h.Mode)
		}
	}
	if found["ferry"] != "#!binary-v1" || !strings.Contains(found["etc/passwd"], "65532") {
		t.Fatalf("layer files = %v", found)
	}
}

func TestTagFollowsTheBinaryAndTheArchiveLoads(t *testing.T) {
	t.Parallel()
	a, _ := Build(fakeBinary(t, "one"), "dev", "amd64")
	a2, _ := Build(fakeBinary(t, "one"), "dev", "amd64")
	b, _ := Build(fakeBinary(t, "two"), "dev", "amd64")
	if a.Ref != a2.Ref || a.Ref == b.Ref {
		t.Fatalf("tags: %s %s %s", a.Ref, a2.Ref, b.Ref)
	}
	da, _ := a.Image.Digest()
	da2, _ := a2.Image.Digest()
	if da != da2 {
		t.Fatal("the same binary gave two image digests; builds must be reproducible")
	}
	var buf bytes.Buffer
	if err := a.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, &a.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d != da {
		t.Fatalf("archive digest %s, built %s", d, da)
	}
}
