// Package bundle writes and reads ferry's air-gap bundle: one tar file
// holding container images as an OCI image layout (every blob stored once,
// named by its digest), the charts, the ferry binary, and a manifest of
// names, digests and sizes. Reading verifies every byte before anything
// else may use the contents.
package bundle

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// FormatVersion is the bundle format this code writes and reads.
const FormatVersion = 1

// Archive entry names.
const (
	ManifestName = "ferry-bundle.json"
	LayoutName   = "oci/oci-layout"
	IndexName    = "oci/index.json"
	BlobsDir     = "oci/blobs/sha256/"
	FilesDir     = "files/"
)

// Image roles.
const (
	RoleNode      = "node"      // the kind node image, loaded into the container engine
	RolePlatform  = "platform"  // ferry's own image
	RoleComponent = "component" // an image of the pinned list (embed/images.yaml)
	RoleUser      = "user"      // added with --image
)

// File roles.
const (
	RoleChart  = "chart"
	RoleBinary = "binary"
)

// Manifest describes a bundle; it is the archive's last entry.
type Manifest struct {
	Version      int         `json:"version"`
	Created      time.Time   `json:"created"`
	FerryVersion string      `json:"ferryVersion"`
	Images       []ImageInfo `json:"images"`
	Files        []FileInfo  `json:"files"`
	Blobs        []BlobInfo  `json:"blobs"`
	// Omitted lists pinned images deliberately left out (--without).
	Omitted []string `json:"omitted,omitempty"`
}

// ImageInfo is one image: its reference and its OCI manifest's digest.
type ImageInfo struct {
	Ref    string `json:"ref"`
	Role   string `json:"role"`
	Digest string `json:"digest"` // of the OCI image manifest
	Size   int64  `json:"size"`   // config and layers
	Layers int    `json:"layers"`
}

// FileInfo is one file under files/.
type FileInfo struct {
	Path   string `json:"path"`
	Role   string `json:"role"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// BlobInfo is one blob of the OCI layout.
type BlobInfo struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// Image finds the image with a role (the first one).
func (m *Manifest) Image(role string) (ImageInfo, bool) {
	for _, i := range m.Images {
		if i.Role == role {
			return i, true
		}
	}
	return ImageInfo{}, false
}

// TotalSize is the size of every blob and file.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, b := range m.Blobs {
		n += b.Size
	}
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkName refuses any entry name a bundle never holds: absolute paths,
// "..", unclean paths, and anything outside the known places.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.Contains(name, "\\") {
		return fmt.Errorf("entry %q: not a clean relative path", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("entry %q: path traversal", name)
		}
	}
	switch {
	case name == ManifestName, name == LayoutName, name == IndexName:
		return nil
	case strings.HasPrefix(name, BlobsDir):
		if !hexDigest.MatchString(strings.TrimPrefix(name, BlobsDir)) {
			return fmt.Errorf("entry %q: a blob must be named by its sha256 digest", name)
		}
		return nil
	case strings.HasPrefix(name, FilesDir) && len(name) > len(FilesDir):
		return nil
	}
	return fmt.Errorf("entry %q: not a place a bundle has", name)
}

// blobName is the entry name of a digest ("sha256:hex").
func blobName(digest string) (string, error) {
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || !hexDigest.MatchString(hex) {
		return "", fmt.Errorf("digest %q: want sha256:<64 hex digits>", digest)
	}
	return BlobsDir + hex, nil
}

// OCI media types and the ref-name annotation.
const (
	mediaManifest     = "application/vnd.oci.image.manifest.v1+json"
	mediaIndex        = "application/vnd.oci.image.index.v1+json"
	mediaConfig       = "application/vnd.oci.image.config.v1+json"
	mediaLayer        = "application/vnd.oci.image.layer.v1.tar"
	mediaLayerGzip    = "application/vnd.oci.image.layer.v1.tar+gzip"
	annotationRefName = "org.opencontainers.image.ref.name"
	layoutJSON        = `{"imageLayoutVersion":"1.0.0"}`
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type ociIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

// MiB formats a byte count.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Rate formats a throughput.
func Rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB/s", float64(n)/(1<<20)/d.Seconds())
}
