package nodeimage

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/ferry-ml/ferry/internal/shell"
)

var lookPath = exec.LookPath

// kubeLDFlags stamps the Kubernetes version the way the release build does.
func kubeLDFlags() string {
	minor := strings.Split(strings.TrimPrefix(KubernetesVersion, "v"), ".")[1]
	ld := "-s -w"
	for _, p := range []string{"k8s.io/client-go/pkg/version", "k8s.io/component-base/version"} {
		ld += fmt.Sprintf(" -X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitCommit=0000000000000000000000000000000000000000 -X %s.gitTreeState=clean -X %s.buildDate=2026-01-01T00:00:00Z",
			p, KubernetesVersion, p, p, minor, p, p, p)
	}
	return ld
}

// writeModule writes a wrapper module (go.mod, go.sum) from the assets.
func (b *builder) writeModule(name string) (string, error) {
	dir := filepath.Join(b.o.CacheDir, "src", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for src, dst := range map[string]string{"go.mod.tmpl": "go.mod", "go.sum": "go.sum"} {
		data, err := assets.ReadFile("assets/" + name + "/" + src)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// goBuild builds pkg into the bin cache unless it is already there.
func (b *builder) goBuild(ctx context.Context, dir, bin, ldflags string, args ...string) error {
	out := filepath.Join(b.bin, bin)
	if _, err := os.Stat(out); err == nil {
		return nil
	}
	log, err := b.logTo("go-" + bin)
	if err != nil {
		return err
	}
	defer log.Close()
	c := shell.Command(b.o.Go, args...)
	c.Dir, c.Log = dir, log
	c.Env = []string{"CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-buildvcs=false", "GOBIN=" + b.work + "/gobin-" + bin}
	if ldflags != "" {
		c.Args = append([]string{c.Args[0], "-trimpath", "-ldflags", ldflags, "-o", out + ".tmp"}, c.Args[1:]...)
	}
	if err := c.Run(ctx); err != nil {
		return err
	}
	if ldflags == "" { // go install wrote into GOBIN
		return os.Rename(filepath.Join(b.work, "gobin-"+bin, bin), out)
	}
	return os.Rename(out+".tmp", out)
}

// binaries builds everything from source into the bin cache. Kubernetes and
// the other components build side by side: go build leaves cores idle while
// it links, so two chains finish sooner than one.
func (b *builder) binaries(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.kubernetes(ctx) })
	g.Go(func() error { return b.components(ctx) })
	return g.Wait()
}

func (b *builder) kubernetes(ctx context.Context) error {
	k8s, err := b.writeModule("k8sbuild")
	if err != nil {
		return err
	}
	for _, name := range kubeBinaries {
		if err := b.goBuild(ctx, k8s, name, kubeLDFlags(), "build", "k8s.io/kubernetes/cmd/"+name); err != nil {
			return err
		}
		b.p.Printf("  built %s", name)
	}
	if _, err := os.Stat(filepath.Join(b.bin, "pause")); err == nil {
		return nil
	}
	list := shell.Command(b.o.Go, "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes")
	list.Dir = k8s
	src, err := list.Output(ctx)
	if err != nil {
		return err
	}
	pause := shell.Command("gcc", "-Os", "-static", "-o", filepath.Join(b.bin, "pause"), "-DVERSION="+pauseImageTag,
		filepath.Join(strings.TrimSpace(src), "build/pause/linux/pause.c"))
	return pause.Run(ctx)
}

func (b *builder) components(ctx context.Context) error {
	etcd, err := b.writeModule("etcdbuild")
	if err != nil {
		return err
	}
	if err := b.goBuild(ctx, etcd, "etcd", "-s -w", "build", "go.etcd.io/etcd/server/v3"); err != nil {
		return err
	}
	b.p.Printf("  built etcd")
	for _, g := range goInstalls {
		if err := b.goBuild(ctx, b.work, g.bin, "", "install", "-trimpath", "-ldflags", strings.TrimSpace("-s -w "+g.ldflags), g.pkg); err != nil {
			return err
		}
		b.p.Printf("  built %s", g.bin)
	}
	return nil
}

func (b *builder) debootstrap(ctx context.Context) error {
	done := filepath.Join(b.rootfs, ".ferry-done")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	// An interrupted debootstrap leaves /proc and /sys mounted inside the tree.
	if err := unmountUnder(ctx, b.rootfs); err != nil {
		return err
	}
	if err := os.RemoveAll(b.rootfs); err != nil {
		return err
	}
	log, err := b.logTo("debootstrap")
	if err != nil {
		return err
	}
	defer log.Close()
	c := shell.Command("debootstrap", "--variant=minbase", "--include="+strings.Join(debPackages, ","), DebianSuite, b.rootfs, b.o.Mirror)
	c.Log = log
	if err := c.Run(ctx); err != nil {
		return err
	}
	// Trim what a node never reads: package cache, docs, man pages, locales.
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "usr/share/doc/*", "usr/share/man/*", "usr/share/locale/*", "usr/share/info/*"} {
		matches, _ := filepath.Glob(filepath.Join(b.rootfs, glob))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(done, nil, 0o644)
}

// writeAssets copies an asset subtree to dir.
func writeAssets(root, dir string) error {
	return fs.WalkDir(assets, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, strings.TrimPrefix(p, root))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.Contains(p, "/bin/") {
			mode = 0o755
		}
		return os.WriteFile(target, data, mode)
	})
}

// unmountUnder lazily unmounts every mount point below dir, deepest first.
func unmountUnder(ctx context.Context, dir string) error {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			points = append(points, f[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		if err := shell.Command("umount", "-l", p).Run(ctx); err != nil {
			return err
		}
	}
	return nil
}
