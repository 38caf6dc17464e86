package seed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/bundle"
)

// Store keeps the current seed bundle, extracted and verified, under Dir.
type Store struct {
	Dir string
	mu  sync.RWMutex
	cur *bundle.Dir
	img []v1.SeedImage
}

// Open loads the current bundle, if any (it was verified on upload).
func Open(dir string) (*Store, error) {
	s := &Store{Dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cur := filepath.Join(dir, "current")
	raw, err := os.ReadFile(filepath.Join(cur, bundle.ManifestName))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var m bundle.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("seed bundle manifest: %w", err)
	}
	d := &bundle.Dir{Path: cur, Manifest: &m}
	imgs, err := imagesOf(d)
	if err != nil {
		return nil, err
	}
	s.cur, s.img = d, imgs
	return s, nil
}

func imagesOf(d *bundle.Dir) ([]v1.SeedImage, error) {
	imgs := make([]v1.SeedImage, 0, len(d.Manifest.Images))
	for _, i := range d.Manifest.Images {
		cfg, err := d.ConfigDigest(i)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, v1.SeedImage{Ref: i.Ref, Digest: i.Digest, Config: cfg, Size: i.Size})
	}
	return imgs, nil
}

// Generation identifies the current image list (v1.SeedGeneration).
func (s *Store) Generation() string { return v1.SeedGeneration(s.Images()) }

// Images lists the images of the current bundle.
func (s *Store) Images() []v1.SeedImage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]v1.SeedImage{}, s.img...)
}

// Upload verifies a bundle as it arrives and makes it the current one;
// a bundle that fails verification changes nothing.
func (s *Store) Upload(r io.Reader) (*bundle.Manifest, error) {
	incoming := filepath.Join(s.Dir, fmt.Sprintf("incoming-%d", time.Now().UnixNano()))
	m, err := bundle.Read(r, bundle.ReadOptions{ExtractDir: incoming})
	if err != nil {
		return nil, err
	}
	imgs, err := imagesOf(&bundle.Dir{Path: incoming, Manifest: m})
	if err != nil {
		os.RemoveAll(incoming)
		return nil, err
	}
	cur := filepath.Join(s.Dir, "current")
	old := filepath.Join(s.Dir, fmt.Sprintf("old-%d", time.Now().UnixNano()))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Rename(cur, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(incoming)
		return nil, err
	}
	if err := os.Rename(incoming, cur); err != nil {
		_ = os.Rename(old, cur)
		os.RemoveAll(incoming)
		return nil, err
	}
	os.RemoveAll(old)
	s.cur, s.img = &bundle.Dir{Path: cur, Manifest: m}, imgs
	return m, nil
}

// WriteArchive streams one image as a docker archive.
func (s *Store) WriteArchive(w io.Writer, ref string) error {
	s.mu.RLock()
	d := s.cur
	s.mu.RUnlock()
	if d == nil {
		return ErrUnknownImage
	}
	for _, i := range d.Manifest.Images {
		if i.Ref == ref {
			return d.WriteDockerArchive(w, i)
		}
	}
	return ErrUnknownImage
}

// ErrUnknownImage is an image the current bundle does not hold.
var ErrUnknownImage = errors.New("no such image in the seed bundle")
