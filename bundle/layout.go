package bundle

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Dir is an extracted, verified bundle.
type Dir struct {
	Path     string
	Manifest *Manifest
}

// Extract verifies the bundle file and extracts it into dir (which must be
// empty or absent). Nothing is extracted when verification fails.
func Extract(file, dir string, progress func(int64)) (*Dir, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Read(f, ReadOptions{ExtractDir: dir, Progress: progress})
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", file, err)
	}
	return &Dir{Path: dir, Manifest: m}, nil
}

// Verify reads the whole bundle file and checks it, extracting nothing.
func Verify(file string, progress func(int64)) (*Manifest, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Read(f, ReadOptions{Progress: progress})
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", file, err)
	}
	return m, nil
}

func (d *Dir) blobPath(digest string) (string, error) {
	name, err := blobName(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(d.Path, filepath.FromSlash(name)), nil
}

// File is the path of an extracted file (name as listed in the manifest).
func (d *Dir) File(name string) string {
	return filepath.Join(d.Path, filepath.FromSlash(name))
}

// WriteDockerArchive writes the images as one docker-archive stream, which
// `docker load` and containerd's import both read.
func (d *Dir) WriteDockerArchive(w io.Writer, images ...ImageInfo) error {
	tw := tar.NewWriter(w)
	written := map[string]bool{}
	add := func(digest string) (string, error) {
		p, err := d.blobPath(digest)
		if err != nil {
			return "", err
		}
		name := strings.TrimPrefix(filepath.ToSlash(p), filepath.ToSlash(d.Path)+"/")
		if written[name] {
			return name, nil
		}
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return "", err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: fi.Size(), Mode: 0o644, Typeflag: tar.TypeReg, ModTime: epoch}); err != nil {
			return "", err
		}
		if _, err := io.Copy(tw, f); err != nil {
			return "", err
		}
		written[name] = true
		return name, nil
	}
	var dms []dockerManifest
	for _, img := range images {
		man, _, err := d.imageManifest(img)
		if err != nil {
			return err
		}
		dm := dockerManifest{RepoTags: []string{img.Ref}}
		if dm.Config, err = add(man.Config.Digest); err != nil {
			return err
		}
		for _, l := range man.Layers {
			name, err := add(l.Digest)
			if err != nil {
				return err
			}
			dm.Layers = append(dm.Layers, name)
		}
		dms = append(dms, dm)
	}
	raw, err := json.Marshal(dms)
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Size: int64(len(raw)), Mode: 0o644, Typeflag: tar.TypeReg, ModTime: epoch}); err != nil {
		return err
	}
	if _, err := tw.Write(raw); err != nil {
		return err
	}
	return tw.Close()
}

// ConfigDigest is the digest of an image's config blob.
func (d *Dir) ConfigDigest(img ImageInfo) (string, error) {
	man, _, err := d.imageManifest(img)
	return man.Config.Digest, err
}

// imageManifest reads an image's OCI manifest, parsed and raw.
func (d *Dir) imageManifest(img ImageInfo) (ociManifest, []byte, error) {
	var man ociManifest
	p, err := d.blobPath(img.Digest)
	if err != nil {
		return man, nil, err
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return man, nil, err
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		return man, nil, fmt.Errorf("image %s: %w", img.Ref, err)
	}
	return man, raw, nil
}
