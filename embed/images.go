// Package embed holds assets baked into the ferry binary besides the
// charts: the list of every image the platform uses, pinned by digest.
package embed

import (
	_ "embed" // images.yaml
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"
)

//go:embed images.yaml
var imagesYAML []byte

// Image sources.
const (
	SourceRegistry  = "registry"
	SourceSelf      = "self"
	SourceNodeImage = "node-image"
	// SourceWorkload is ferry's workload image, built from Debian packages
	// by `ferry workload-image build` (its tag follows its inputs).
	SourceWorkload = "workload-image"
)

// Image is one entry of the pinned image list.
type Image struct {
	Name       string   `json:"name"`
	Repository string   `json:"repository"`
	Tag        string   `json:"tag,omitempty"`
	Digest     string   `json:"digest,omitempty"`
	Source     string   `json:"source"`
	UsedBy     []string `json:"usedBy"`
}

// Ref is the image's reference: repository:tag@digest where known.
func (i Image) Ref() string {
	r := i.Repository
	if i.Tag != "" {
		r += ":" + i.Tag
	}
	if i.Digest != "" {
		r += "@" + i.Digest
	}
	return r
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Images returns the pinned image list, validated.
func Images() ([]Image, error) {
	var doc struct {
		Images []Image `json:"images"`
	}
	if err := yaml.UnmarshalStrict(imagesYAML, &doc); err != nil {
		return nil, fmt.Errorf("embedded images.yaml: %w", err)
	}
	seen := map[string]bool{}
	for _, img := range doc.Images {
		if img.Name == "" || img.Repository == "" {
			return nil, fmt.Errorf("embedded images.yaml: entry %+v lacks a name or repository", img)
		}
		if seen[img.Name] {
			return nil, fmt.Errorf("embedded images.yaml: %s listed twice", img.Name)
		}
		seen[img.Name] = true
		switch img.Source {
		case SourceRegistry:
			if !digestRE.MatchString(img.Digest) {
				return nil, fmt.Errorf("embedded images.yaml: %s comes from a registry but is not pinned by a sha256 digest", img.Name)
			}
		case SourceSelf, SourceNodeImage, SourceWorkload:
		default:
			return nil, fmt.Errorf("embedded images.yaml: %s has unknown source %q", img.Name, img.Source)
		}
	}
	return doc.Images, nil
}

// ByRepository finds the entry of a repository.
func ByRepository(images []Image, repo string) (Image, bool) {
	for _, img := range images {
		if img.Repository == repo {
			return img, true
		}
	}
	return Image{}, false
}
