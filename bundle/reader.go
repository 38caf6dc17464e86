package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ReadOptions control Read.
type ReadOptions struct {
	// ExtractDir, when set, receives the verified contents. It must be empty
	// or absent; on any error it is removed again.
	ExtractDir string
	// Progress is called with the bytes read so far.
	Progress func(int64)
	// MaxSmall caps manifest-like entries (JSON) held in memory.
	MaxSmall int64
}

// ErrCorrupt marks every verification failure.
var ErrCorrupt = errors.New("bundle is corrupt")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

type seen struct {
	digest string
	size   int64
}

// Read reads a whole bundle and verifies it: entry names and types, every
// blob against its name, every file against the manifest, every image's
// manifest, config and layers present, nothing unlisted. It returns the
// manifest only when everything holds.
func Read(r io.Reader, o ReadOptions) (m *Manifest, err error) {
	if o.MaxSmall <= 0 {
		o.MaxSmall = 64 << 20
	}
	if o.ExtractDir != "" {
		if err := prepareDir(o.ExtractDir); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				os.RemoveAll(o.ExtractDir)
			}
		}()
	}
	cr := &countingReader{r: r}
	var last int64
	tr := tar.NewReader(cr)
	entries := map[string]seen{}
	small := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, corrupt("reading the archive after %d entries: %v (truncated?)", len(entries), err)
		}
		if err := checkName(h.Name); err != nil {
			return nil, corrupt("%v", err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, corrupt("entry %q: type %q; a bundle holds regular files only", h.Name, string(h.Typeflag))
		}
		if _, dup := entries[h.Name]; dup {
			return nil, corrupt("entry %q appears twice", h.Name)
		}
		// JSON entries, and blobs small enough to be image manifests, are
		// kept to check the images' structure at the end.
		isBlob := strings.HasPrefix(h.Name, BlobsDir)
		keep := (!isBlob && !strings.HasPrefix(h.Name, FilesDir)) || (isBlob && h.Size <= maxManifest)
		if !isBlob && keep && h.Size > o.MaxSmall {
			return nil, corrupt("entry %q: %d bytes, more than %d", h.Name, h.Size, o.MaxSmall)
		}
		hash := sha256.New()
		var sink io.Writer = hash
		var buf *bytes.Buffer
		if keep {
			buf = &bytes.Buffer{}
			sink = io.MultiWriter(hash, buf)
		}
		var out *os.File
		if o.ExtractDir != "" {
			out, err = create(o.ExtractDir, h.Name)
			if err != nil {
				return nil, err
			}
			sink = io.MultiWriter(sink, out)
		}
		n, err := io.Copy(sink, tr)
		if out != nil {
			err = errors.Join(err, out.Close())
		}
		if err != nil {
			return nil, corrupt("entry %q: %v (truncated?)", h.Name, err)
		}
		d := "sha256:" + hex.EncodeToString(hash.Sum(nil))
		if hexName, ok := strings.CutPrefix(h.Name, BlobsDir); ok && d != "sha256:"+hexName {
			return nil, corrupt("blob %s holds content with digest %s", hexName, d)
		}
		entries[h.Name] = seen{digest: d, size: n}
		if keep {
			small[h.Name] = buf.Bytes()
		}
		if o.Progress != nil && cr.n-last >= 1<<20 {
			last = cr.n
			o.Progress(cr.n)
		}
	}
	return verify(entries, small)
}

func verify(entries map[string]seen, small map[string][]byte) (*Manifest, error) {
	raw, ok := small[ManifestName]
	if !ok {
		return nil, corrupt("no %s (truncated, or not a ferry bundle)", ManifestName)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, corrupt("%s: %v", ManifestName, err)
	}
	if m.Version != FormatVersion {
		return nil, fmt.Errorf("bundle format version %d; this ferry reads version %d", m.Version, FormatVersion)
	}
	if string(small[LayoutName]) != layoutJSON {
		return nil, corrupt("%s missing or unexpected", LayoutName)
	}
	listed := map[string]bool{ManifestName: true, LayoutName: true, IndexName: true}
	for _, b := range m.Blobs {
		name, err := blobName(b.Digest)
		if err != nil {
			return nil, corrupt("manifest: %v", err)
		}
		got, ok := entries[name]
		if !ok {
			return nil, corrupt("blob %s is listed but missing", b.Digest)
		}
		if got.size != b.Size {
			return nil, corrupt("blob %s: %d bytes, the manifest says %d", b.Digest, got.size, b.Size)
		}
		listed[name] = true
	}
	for _, f := range m.Files {
		got, ok := entries[f.Path]
		if !ok {
			return nil, corrupt("file %s is listed but missing", f.Path)
		}
		if got.digest != f.Digest || got.size != f.Size {
			return nil, corrupt("file %s: digest %s (%d bytes), the manifest says %s (%d bytes)", f.Path, got.digest, got.size, f.Digest, f.Size)
		}
		listed[f.Path] = true
	}
	for name := range entries {
		if !listed[name] {
			return nil, corrupt("entry %s is not in the manifest", name)
		}
	}
	var idx ociIndex
	if err := json.Unmarshal(small[IndexName], &idx); err != nil {
		return nil, corrupt("%s: %v", IndexName, err)
	}
	refs := map[string]string{}
	for _, d := range idx.Manifests {
		refs[d.Annotations[annotationRefName]] = d.Digest
	}
	for _, img := range m.Images {
		if refs[img.Ref] != img.Digest {
			return nil, corrupt("image %s: the OCI index points at %q, the manifest at %s", img.Ref, refs[img.Ref], img.Digest)
		}
		if err := checkImage(entries, small, img); err != nil {
			return nil, err
		}
	}
	if len(idx.Manifests) != len(m.Images) {
		return nil, corrupt("the OCI index lists %d images, the manifest %d", len(idx.Manifests), len(m.Images))
	}
	return &m, nil
}

// maxManifest bounds an image manifest's size.
const maxManifest = 4 << 20

// checkImage checks that an image's manifest, config and layers are all
// present with the sizes the manifest gives, and that the sizes add up.
func checkImage(entries map[string]seen, small map[string][]byte, img ImageInfo) error {
	name, err := blobName(img.Digest)
	if err != nil {
		return corrupt("image %s: %v", img.Ref, err)
	}
	raw, ok := small[name]
	if !ok {
		return corrupt("image %s: manifest blob %s missing", img.Ref, img.Digest)
	}
	var man ociManifest
	if err := json.Unmarshal(raw, &man); err != nil || man.MediaType != mediaManifest {
		return corrupt("image %s: blob %s is not an OCI image manifest", img.Ref, img.Digest)
	}
	total := int64(0)
	for _, d := range append([]descriptor{man.Config}, man.Layers...) {
		bn, err := blobName(d.Digest)
		if err != nil {
			return corrupt("image %s: %v", img.Ref, err)
		}
		got, ok := entries[bn]
		if !ok {
			return corrupt("image %s: blob %s missing", img.Ref, d.Digest)
		}
		if got.size != d.Size {
			return corrupt("image %s: blob %s has %d bytes, its manifest says %d", img.Ref, d.Digest, got.size, d.Size)
		}
		total += d.Size
	}
	if total != img.Size || len(man.Layers) != img.Layers {
		return corrupt("image %s: %d bytes in %d layers, the bundle manifest says %d in %d", img.Ref, total, len(man.Layers), img.Size, img.Layers)
	}
	return nil
}

// prepareDir makes dir, refusing one that has contents.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("extract bundle: %s is not empty", dir)
	}
	return nil
}

// create opens dir/name for writing; name was checked by checkName.
func create(dir, name string) (*os.File, error) {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
		return nil, corrupt("entry %q escapes the extraction directory", name)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}
