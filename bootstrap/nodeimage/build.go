package nodeimage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/shell"
)

// Options configures a node image build.
type Options struct {
	// CacheDir keeps binaries, the rootfs and logs between builds
	// (default /var/cache/ferry/nodeimage).
	CacheDir string
	// Mirror is the Debian mirror URL (default: the first one in the
	// machine's apt sources).
	Mirror string
	// Docker and Go are the commands to use (default "docker", "go").
	Docker, Go string
	// Force rebuilds the image even when one with the same inputs exists.
	Force bool
	// Out receives progress lines.
	Out io.Writer
}

// Validate fills defaults and checks the host has what the build needs.
func (o *Options) Validate() error {
	if o.CacheDir == "" {
		o.CacheDir = "/var/cache/ferry/nodeimage"
	}
	if o.Docker == "" {
		o.Docker = "docker"
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Mirror == "" {
		m, err := AptMirror("/etc/apt/sources.list", "/etc/apt/sources.list.d")
		if err != nil {
			return fmt.Errorf("no Debian mirror given and none found in the apt sources (%w); pass --mirror URL", err)
		}
		o.Mirror = m
	}
	return nil
}

// Exists reports whether the docker engine already holds the image.
func Exists(ctx context.Context, docker, ref string) bool {
	return shell.Command(docker, "image", "inspect", "--format", "{{.Id}}", ref).Run(ctx) == nil
}

// Build makes the node image for the current inputs, reusing a cached image
// or cached step outputs where it can, and returns its tag.
func Build(ctx context.Context, o Options) (string, error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	tag := Tag()
	p := progress.New(o.Out)
	if !o.Force && Exists(ctx, o.Docker, tag) {
		p.Printf("node image %s is up to date (inputs unchanged)", tag)
		return tag, nil
	}
	if err := checkHost(); err != nil {
		return "", err
	}
	b := &builder{o: o, p: p, tag: tag,
		bin:    filepath.Join(o.CacheDir, "bin-"+binHash()),
		rootfs: filepath.Join(o.CacheDir, "rootfs-"+rootfsHash()),
		work:   filepath.Join(o.CacheDir, "work"),
		logs:   filepath.Join(o.CacheDir, "logs"),
	}
	for _, d := range []string{b.bin, b.work, b.logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	p.Printf("building node image %s (Kubernetes %s, Debian %s from %s); logs in %s", tag, KubernetesVersion, DebianSuite, o.Mirror, b.logs)
	// Each cached step holds a lock on its cache entry: a second build on
	// this machine waits, then finds the entry made.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return p.Step("build Kubernetes, etcd, containerd, CoreDNS, crictl, local-path and pause from source", func() error {
			return b.locked(gctx, b.bin+".lock", func() error { return b.binaries(gctx) })
		})
	})
	g.Go(func() error {
		return p.Step("debootstrap the node root filesystem", func() error {
			return b.locked(gctx, b.rootfs+".lock", func() error { return b.debootstrap(gctx) })
		})
	})
	if err := g.Wait(); err != nil {
		return "", err
	}
	// The work folder (component images, node tree, preload) is one entry.
	built := false
	err := b.locked(ctx, b.work+".lock", func() error {
		if !o.Force && Exists(ctx, o.Docker, tag) {
			p.Printf("node image %s was built by another build meanwhile", tag)
			return nil
		}
		built = true
		if err := p.Step("build component images", func() error { return b.images(ctx) }); err != nil {
			return err
		}
		return p.Step("assemble and preload the node image", func() error { return b.node(ctx) })
	})
	if err != nil {
		return "", err
	}
	if built {
		p.Printf("node image %s built in %s", tag, p.Elapsed())
	}
	return tag, nil
}

type builder struct {
	o                       Options
	p                       *progress.Printer
	tag                     string
	bin, rootfs, work, logs string
}

// logTo opens a step's log file.
func (b *builder) logTo(name string) (*os.File, error) {
	return os.Create(filepath.Join(b.logs, name+".log"))
}

func checkHost() error {
	var missing []string
	for _, tool := range []string{"debootstrap", "gcc", "tar", "chroot"} {
		if _, err := lookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the node image build needs %s on PATH: apt-get install debootstrap gcc tar coreutils", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		return errors.New("the node image build runs debootstrap and must run as root")
	}
	return nil
}

var aptURI = regexp.MustCompile(`^\s*(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?([a-z]+://\S+)`)

// AptMirror returns the first Debian mirror URL found in apt's sources
// (one-line or deb822 format), skipping security mirrors.
func AptMirror(list, dir string) (string, error) {
	files := []string{list}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		s := bufio.NewScanner(fh)
		for s.Scan() {
			if m := aptURI.FindStringSubmatch(s.Text()); m != nil && !strings.Contains(m[1], "security") {
				fh.Close()
				return m[1], nil
			}
		}
		fh.Close()
	}
	return "", errors.New("no deb or URIs line")
}
