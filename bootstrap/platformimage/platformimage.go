// Package platformimage makes ferry's platform image from ferry's own
// executable: one layer holding the static binary (plus /etc/passwd and
// /etc/group for its non-root user) on scratch, built in memory with
// go-containerregistry. No Docker build and no registry are involved.
package platformimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Repository is where the platform image is tagged.
const Repository = "ferry.local/ferry"

// UID is the non-root user the control plane runs as.
const UID = 65532

// Image is a built platform image and its tag.
type Image struct {
	Ref   name.Tag
	Image v1.Image
}

// Build makes the image for linux/arch from the executable at path (a
// linux/arch ferry); the tag is the version plus the first 12 hex digits
// of the binary's SHA-256, so a rebuilt binary gets a new tag and an
// unchanged one the same image.
func Build(path, version, arch string) (Image, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return Image{}, fmt.Errorf("read ferry executable: %w", err)
	}
	tag, err := tagFor(bin, version)
	if err != nil {
		return Image{}, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar(bin))), nil
	})
	if err != nil {
		return Image{}, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return Image{}, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return Image{}, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = arch, "linux"
	cfg.Config.Entrypoint = []string{"/ferry"}
	cfg.Config.User = fmt.Sprintf("%d:%d", UID, UID)
	cfg.Config.Env = []string{"PATH=/", "HOME=/tmp"}
	cfg.Config.Labels = map[string]string{"org.opencontainers.image.title": "ferry", "org.opencontainers.image.version": version}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return Image{}, err
	}
	return Image{Ref: tag, Image: img}, nil
}

// Tag is the tag Build would give, without building (cheap: one hash).
func Tag(path, version string) (name.Tag, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return name.Tag{}, fmt.Errorf("read ferry executable: %w", err)
	}
	return tagFor(bin, version)
}

func tagFor(bin []byte, version string) (name.Tag, error) {
	sum := sha256.Sum256(bin)
	return name.NewTag(fmt.Sprintf("%s:%s-%s", Repository, sanitize(version), hex.EncodeToString(sum[:])[:12]))
}

// WriteArchive writes the image as a docker-archive tarball (what
// `docker load` and containerd's import read).
func (i Image) WriteArchive(w io.Writer) error {
	return tarball.Write(i.Ref, i.Image, w)
}

// layerTar is the single layer: /ferry, /etc/passwd, /etc/group, /tmp.
func layerTar(bin []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nferry:x:%d:%d:ferry:/tmp:/sbin/nologin\n", UID, UID)
	group := fmt.Sprintf("root:x:0:\nferry:x:%d:\n", UID)
	for _, d := range []string{"etc/", "tmp/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: epoch})
	}
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"etc/passwd", 0o644, []byte(passwd)}, {"etc/group", 0o644, []byte(group)}, {"ferry", 0o755, bin}} {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch})
		_, _ = tw.Write(f.data)
	}
	_ = tw.Close()
	return buf.Bytes()
}

func sanitize(v string) string {
	out := []byte(v)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			out[i] = '-'
		}
	}
	if len(out) == 0 {
		return "dev"
	}
	return string(out)
}
