package airgap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/bundle"

	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"github.com/ferry-ml/ferry/bootstrap/nodeimage"
	"github.com/ferry-ml/ferry/bootstrap/platformimage"
	"github.com/ferry-ml/ferry/bootstrap/workloadimage"
	"github.com/ferry-ml/ferry/charts"
	"github.com/ferry-ml/ferry/embed"
	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/shell"
)

// CreateOptions say what goes into a bundle.
type CreateOptions struct {
	Output     string
	Executable string // the ferry binary to carry and build the platform image from (default: this one)
	Version    string
	NodeImage  string   // default: ferry's node image tag
	Images     []string // user images from the container engine
	Without    []string // names of pinned images to leave out
	Docker     string
	Now        func() time.Time
}

// Create writes a bundle: the node image, the platform image, the pinned
// component images, the user's images, the charts and the binary. It
// writes OUTPUT.partial and renames it when complete, so a failed or
// interrupted run leaves no bundle that looks whole.
func Create(ctx context.Context, o CreateOptions, p *progress.Printer) (*bundle.Manifest, error) {
	if o.Output == "" {
		return nil, errors.New("bundle create: -o FILE is required")
	}
	if o.Docker == "" {
		o.Docker = "docker"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("bundle create: carries a linux/amd64 ferry binary; this one is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		o.Executable = exe
	}
	if o.NodeImage == "" {
		o.NodeImage = nodeimage.Tag()
	}
	plan, err := planImages(ctx, o)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(o.Output), ".ferry-bundle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	partial := o.Output + ".partial"
	f, err := os.Create(partial)
	if err != nil {
		return nil, err
	}
	m, err := write(ctx, f, o, plan, tmp, p)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(partial, o.Output)
	}
	if err != nil {
		os.Remove(partial)
		return nil, err
	}
	return m, nil
}

type plannedImage struct {
	ref, role string
	pin       string // repo@digest a pinned image must carry; "" for others
}

// planImages checks that every image is in the container engine (pinned
// ones with their pinned digest) before anything is written, and names any
// that is missing.
func planImages(ctx context.Context, o CreateOptions) ([]plannedImage, error) {
	pinned, err := embed.Images()
	if err != nil {
		return nil, err
	}
	for _, w := range o.Without {
		if !slices.ContainsFunc(pinned, func(i embed.Image) bool { return i.Name == w }) {
			return nil, fmt.Errorf("--without %s: not a pinned image (see embed/images.yaml)", w)
		}
	}
	plan := []plannedImage{{ref: o.NodeImage, role: bundle.RoleNode}}
	for _, img := range pinned {
		if slices.Contains(o.Without, img.Name) {
			continue
		}
		switch img.Source {
		case embed.SourceRegistry:
			plan = append(plan, plannedImage{ref: img.Repository + ":" + img.Tag, role: bundle.RoleComponent, pin: img.Repository + "@" + img.Digest})
		case embed.SourceWorkload:
			plan = append(plan, plannedImage{ref: workloadimage.Tag(), role: bundle.RoleComponent})
		}
		// The platform image is built; node-image ones are inside the node image.
	}
	for _, ref := range o.Images {
		plan = append(plan, plannedImage{ref: ref, role: bundle.RoleUser})
	}
	var missing []string
	var wrong error
	for _, pi := range plan {
		digests, err := shell.Command(o.Docker, "image", "inspect", "--format", "{{join .RepoDigests \" \"}}", pi.ref).Output(ctx)
		switch {
		case err != nil:
			missing = append(missing, pi.ref)
		case pi.pin != "" && !strings.Contains(digests, pi.pin) && wrong == nil:
			_, digest, _ := strings.Cut(pi.pin, "@")
			wrong = fmt.Errorf("%s in the container engine is not the pinned %s (it has %s)", pi.ref, digest, strings.TrimSpace(digests))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not in the local container engine: %s (pull or build them first, the workload image with `ferry workload-image build`; a listed image can be left out with --without NAME)",
			strings.Join(missing, ", "))
	}
	return plan, wrong
}

func write(ctx context.Context, out io.Writer, o CreateOptions, plan []plannedImage, tmp string, p *progress.Printer) (*bundle.Manifest, error) {
	start := time.Now()
	// Rates are over the bytes written since the last report (or since the
	// current image's docker save finished), not over the saves themselves.
	lastReport, lastN := time.Now(), int64(0)
	w := bundle.NewWriter(out, o.Version, o.Now(), func(n int64) {
		if time.Since(lastReport) >= 5*time.Second {
			p.Printf("  %s written, %s", bundle.MiB(n), bundle.Rate(n-lastN, time.Since(lastReport)))
			lastReport, lastN = time.Now(), n
		}
	})
	for i, pi := range plan {
		err := p.Step(fmt.Sprintf("add %s image %s", pi.role, pi.ref), func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			before := w.Written()
			saved := filepath.Join(tmp, fmt.Sprintf("image-%d.tar", i))
			if err := shell.Command(o.Docker, "save", "-o", saved, pi.ref).Run(ctx); err != nil {
				return err
			}
			defer os.Remove(saved)
			lastReport, lastN = time.Now(), w.Written()
			if _, err := w.AddDockerArchive(saved, pi.role); err != nil {
				return err
			}
			p.Printf("  %s new in the bundle", bundle.MiB(w.Written()-before))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	err := p.Step("add the platform image built from "+o.Executable, func() error {
		img, err := platformimage.Build(o.Executable, o.Version, runtime.GOARCH)
		if err != nil {
			return err
		}
		saved := filepath.Join(tmp, "platform.tar")
		f, err := os.Create(saved)
		if err != nil {
			return err
		}
		err = errors.Join(img.WriteArchive(f), f.Close())
		if err != nil {
			return err
		}
		_, err = w.AddDockerArchive(saved, bundle.RolePlatform)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = p.Step("add the charts and the ferry binary", func() error {
		for _, name := range charts.Names() {
			c, err := charts.Load(name)
			if err != nil {
				return err
			}
			path, err := chartutil.Save(c, tmp)
			if err != nil {
				return fmt.Errorf("package chart %s: %w", name, err)
			}
			if err := addFile(w, path, "charts/"+filepath.Base(path), bundle.RoleChart); err != nil {
				return err
			}
		}
		return addFile(w, o.Executable, "bin/ferry-linux-amd64", bundle.RoleBinary)
	})
	if err != nil {
		return nil, err
	}
	for _, name := range o.Without {
		w.Omit(name)
	}
	m, err := w.Close()
	if err != nil {
		return nil, err
	}
	p.Printf("  bundle: %s in %s (%s)", bundle.MiB(w.Written()), time.Since(start).Round(100*time.Millisecond), bundle.Rate(w.Written(), time.Since(start)))
	return m, nil
}

func addFile(w *bundle.Writer, path, name, role string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return w.AddFile(name, role, fi.Size(), f)
}
