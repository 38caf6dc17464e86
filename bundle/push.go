package bundle

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Pushed is where an image of the bundle went.
type Pushed struct {
	Ref        string `json:"ref"`        // as in the bundle
	Repository string `json:"repository"` // in the site's registry
	Digest     string `json:"digest"`     // unchanged
}

// Target is the name an image gets in a registry (HOST[/prefix]): its
// repository path without the original registry, under the prefix.
func Target(registry, ref string) (name.Repository, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return name.Repository{}, fmt.Errorf("image %q: %w", ref, err)
	}
	opts := []name.Option{name.StrictValidation}
	if insecureHost(registry) {
		opts = append(opts, name.Insecure)
	}
	return name.NewRepository(strings.TrimRight(registry, "/")+"/"+r.Context().RepositoryStr(), opts...)
}

// insecureHost: plain HTTP for loopback and private addresses, as Docker does
// for localhost; anything else must speak TLS.
func insecureHost(registry string) bool {
	host := strings.SplitN(registry, "/", 2)[0]
	h := host
	if i := strings.LastIndex(host, ":"); i > 0 {
		h = host[:i]
	}
	return h == "localhost" || strings.HasPrefix(h, "127.") || strings.HasPrefix(h, "10.") ||
		strings.HasPrefix(h, "192.168.") || isPrivate172(h)
}

func isPrivate172(h string) bool {
	var a, b int
	if _, err := fmt.Sscanf(h, "%d.%d.", &a, &b); err != nil {
		return false
	}
	return a == 172 && b >= 16 && b <= 31
}

// Push copies images of the extracted bundle to a registry, keeping their
// digests (the manifests are pushed byte for byte).
func (d *Dir) Push(ctx context.Context, registry string, images ...ImageInfo) ([]Pushed, error) {
	p, err := layout.FromPath(filepath.Join(d.Path, "oci"))
	if err != nil {
		return nil, fmt.Errorf("bundle layout: %w", err)
	}
	var out []Pushed
	for _, img := range images {
		h, err := v1.NewHash(img.Digest)
		if err != nil {
			return nil, err
		}
		im, err := p.Image(h)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Ref, err)
		}
		repo, err := Target(registry, img.Ref)
		if err != nil {
			return nil, err
		}
		tag := "latest"
		if r, err := name.ParseReference(img.Ref); err == nil {
			if t, ok := r.(name.Tag); ok {
				tag = t.TagStr()
			}
		}
		if err := remote.Write(repo.Tag(tag), im, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("push %s to %s: %w", img.Ref, repo, err)
		}
		out = append(out, Pushed{Ref: img.Ref, Repository: repo.String(), Digest: img.Digest})
	}
	return out, nil
}
