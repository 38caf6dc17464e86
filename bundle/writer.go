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
	"path"
	"sort"
	"time"
)

// epoch is every entry's modification time: bundles of the same inputs are
// byte-identical except for the manifest's creation time.
var epoch = time.Unix(0, 0).UTC()

// Writer writes a bundle. Add images and files, then Close.
type Writer struct {
	tw      *tar.Writer
	count   *countingWriter
	m       Manifest
	blobs   map[string]int64
	index   []descriptor
	files   map[string]bool
	started bool
}

// NewWriter starts a bundle on w. progress, if not nil, is called with the
// number of bytes written so far, at most once per 1 MiB.
func NewWriter(w io.Writer, ferryVersion string, created time.Time, progress func(int64)) *Writer {
	cw := &countingWriter{w: w, report: progress}
	return &Writer{
		tw:    tar.NewWriter(cw),
		count: cw,
		m:     Manifest{Version: FormatVersion, Created: created.UTC(), FerryVersion: ferryVersion},
		blobs: map[string]int64{},
		files: map[string]bool{},
	}
}

// Written is the number of bytes written so far.
func (w *Writer) Written() int64 { return w.count.n }

func (w *Writer) header(name string, size int64) error {
	if !w.started {
		w.started = true
		if err := w.entry(LayoutName, []byte(layoutJSON)); err != nil {
			return err
		}
	}
	return w.tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: epoch, Format: tar.FormatPAX})
}

func (w *Writer) entry(name string, data []byte) error {
	if err := w.header(name, int64(len(data))); err != nil {
		return err
	}
	_, err := w.tw.Write(data)
	return err
}

// blob writes a blob once; a digest already written is skipped.
func (w *Writer) blob(digest string, size int64, open func() (io.Reader, error)) error {
	if _, ok := w.blobs[digest]; ok {
		return nil
	}
	name, err := blobName(digest)
	if err != nil {
		return err
	}
	r, err := open()
	if err != nil {
		return err
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	if err := w.header(name, size); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w.tw, h), r)
	if err != nil {
		return fmt.Errorf("write blob %s: %w", digest, err)
	}
	if n != size || "sha256:"+hex.EncodeToString(h.Sum(nil)) != digest {
		return fmt.Errorf("blob %s changed while it was written (source modified?)", digest)
	}
	w.blobs[digest] = size
	w.m.Blobs = append(w.m.Blobs, BlobInfo{Digest: digest, Size: size})
	return nil
}

func (w *Writer) bytesBlob(data []byte) (descriptor, error) {
	sum := sha256.Sum256(data)
	d := descriptor{Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
	return d, w.blob(d.Digest, d.Size, func() (io.Reader, error) { return bytes.NewReader(data), nil })
}

// dockerManifest is one entry of a docker-archive's manifest.json.
type dockerManifest struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// AddDockerArchive adds every tagged image of a docker-archive file (what
// `docker save` writes) under role. Layers keep their form (uncompressed
// from docker save) and are stored once across all images.
func (w *Writer) AddDockerArchive(file, role string) ([]ImageInfo, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := indexTar(f)
	if err != nil {
		return nil, fmt.Errorf("docker archive %s: %w", file, err)
	}
	mf, ok := entries["manifest.json"]
	if !ok {
		return nil, fmt.Errorf("docker archive %s: no manifest.json", file)
	}
	var dms []dockerManifest
	if err := json.NewDecoder(mf).Decode(&dms); err != nil {
		return nil, fmt.Errorf("docker archive %s: manifest.json: %w", file, err)
	}
	var out []ImageInfo
	for _, dm := range dms {
		if len(dm.RepoTags) == 0 {
			return nil, fmt.Errorf("docker archive %s: an image without a tag", file)
		}
		sec := func(name string) (*io.SectionReader, error) {
			s, ok := entries[path.Clean(name)]
			if !ok {
				return nil, fmt.Errorf("docker archive %s: %s is missing", file, name)
			}
			return io.NewSectionReader(s, 0, s.Size()), nil
		}
		cfgSec, err := sec(dm.Config)
		if err != nil {
			return nil, err
		}
		cfg, err := io.ReadAll(cfgSec)
		if err != nil {
			return nil, err
		}
		man := ociManifest{SchemaVersion: 2, MediaType: mediaManifest}
		if man.Config, err = w.bytesBlob(cfg); err != nil {
			return nil, err
		}
		man.Config.MediaType = mediaConfig
		size := man.Config.Size
		for _, l := range dm.Layers {
			s, err := sec(l)
			if err != nil {
				return nil, err
			}
			d, err := describeLayer(s)
			if err != nil {
				return nil, fmt.Errorf("docker archive %s: layer %s: %w", file, l, err)
			}
			if err := w.blob(d.Digest, d.Size, func() (io.Reader, error) { return io.NewSectionReader(s, 0, s.Size()), nil }); err != nil {
				return nil, err
			}
			man.Layers = append(man.Layers, d)
			size += d.Size
		}
		raw, err := json.Marshal(man)
		if err != nil {
			return nil, err
		}
		md, err := w.bytesBlob(raw)
		if err != nil {
			return nil, err
		}
		md.MediaType = mediaManifest
		for _, tag := range dm.RepoTags {
			d := md
			d.Annotations = map[string]string{annotationRefName: tag}
			w.index = append(w.index, d)
			info := ImageInfo{Ref: tag, Role: role, Digest: md.Digest, Size: size, Layers: len(man.Layers)}
			w.m.Images = append(w.m.Images, info)
			out = append(out, info)
		}
	}
	return out, nil
}

// describeLayer hashes a layer and tells gzip from plain tar.
func describeLayer(s *io.SectionReader) (descriptor, error) {
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(s, 0, s.Size()))
	if err != nil {
		return descriptor{}, err
	}
	magic := make([]byte, 2)
	mt := mediaLayer
	if _, err := s.ReadAt(magic, 0); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		mt = mediaLayerGzip
	}
	return descriptor{MediaType: mt, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// AddFile adds a file under files/ (name is relative to files/).
func (w *Writer) AddFile(name, role string, size int64, r io.Reader) error {
	full := FilesDir + name
	if err := checkName(full); err != nil {
		return err
	}
	if w.files[full] {
		return fmt.Errorf("file %s added twice", name)
	}
	if err := w.header(full, size); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w.tw, h), r)
	if err != nil {
		return fmt.Errorf("write %s: %w", full, err)
	}
	if n != size {
		return fmt.Errorf("write %s: %d bytes, announced %d", full, n, size)
	}
	w.files[full] = true
	w.m.Files = append(w.m.Files, FileInfo{Path: full, Role: role, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: size})
	return nil
}

// Omit records a pinned image deliberately left out.
func (w *Writer) Omit(name string) { w.m.Omitted = append(w.m.Omitted, name) }

// Close writes the OCI index and the manifest and ends the archive.
func (w *Writer) Close() (*Manifest, error) {
	if len(w.m.Images) == 0 {
		return nil, errors.New("bundle: no images")
	}
	sort.SliceStable(w.index, func(i, j int) bool {
		return w.index[i].Annotations[annotationRefName] < w.index[j].Annotations[annotationRefName]
	})
	idx, err := json.Marshal(ociIndex{SchemaVersion: 2, MediaType: mediaIndex, Manifests: w.index})
	if err != nil {
		return nil, err
	}
	if err := w.entry(IndexName, idx); err != nil {
		return nil, err
	}
	man, err := json.MarshalIndent(w.m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := w.entry(ManifestName, man); err != nil {
		return nil, err
	}
	if err := w.tw.Close(); err != nil {
		return nil, err
	}
	m := w.m
	return &m, nil
}

// indexTar maps every regular file of a tar file to its bytes' section.
func indexTar(f *os.File) (map[string]*io.SectionReader, error) {
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	out := map[string]*io.SectionReader{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// archive/tar reads whole blocks and nothing ahead: the data starts here.
		out[path.Clean(h.Name)] = io.NewSectionReader(f, cr.n, h.Size)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type countingWriter struct {
	w      io.Writer
	n      int64
	last   int64
	report func(int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.report != nil && c.n-c.last >= 1<<20 {
		c.last = c.n
		c.report(c.n)
	}
	return n, err
}

// AddFromDir copies an image of an extracted bundle, blob by blob.
func (w *Writer) AddFromDir(d *Dir, img ImageInfo) error {
	man, raw, err := d.imageManifest(img)
	if err != nil {
		return err
	}
	for _, desc := range append([]descriptor{man.Config}, man.Layers...) {
		bp, err := d.blobPath(desc.Digest)
		if err != nil {
			return err
		}
		err = w.blob(desc.Digest, desc.Size, func() (io.Reader, error) { return os.Open(bp) })
		if err != nil {
			return err
		}
	}
	md, err := w.bytesBlob(raw)
	if err != nil {
		return err
	}
	md.MediaType = mediaManifest
	md.Annotations = map[string]string{annotationRefName: img.Ref}
	w.index = append(w.index, md)
	w.m.Images = append(w.m.Images, img)
	return nil
}
