// Package workloadimage builds ferry's workload image from Debian packages
// (there is no registry to pull one from): Python 3 with NumPy,
// scikit-learn, PyTorch (CPU) and Jupyter, plus the example training
// scripts under /opt/ferry/examples and the built-in serving runtime at
// python.ServingRuntimePath. Jobs and notebooks use it unless the user names another
// image; sklearn serving revisions always do.
package workloadimage

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/bootstrap/nodeimage"
	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/shell"
	"github.com/ferry-ml/ferry/python"
)

// Repository is the workload image's name.
const Repository = "ferry.local/workload"

// Suite is the Debian release the image is made from.
const Suite = "bookworm"

// Packages go into the image's root filesystem.
var Packages = []string{"python3", "python3-numpy", "python3-sklearn", "python3-torch", "python3-notebook", "python3-ipykernel", "ca-certificates"}

// recipe changes when the way the image is made changes.
const recipe = "1"

//go:embed examples/*.py
var examples embed.FS

// Tag names the image of the current inputs.
func Tag() string {
	h := sha256.New()
	fmt.Fprintf(h, "recipe=%s\nsuite=%s\npackages=%s\n", recipe, Suite, strings.Join(Packages, ","))
	_ = fs.WalkDir(examples, "examples", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := examples.ReadFile(p)
			fmt.Fprintf(h, "%s %x\n", p, sha256.Sum256(b))
		}
		return err
	})
	fmt.Fprintf(h, "runtime %x\n", sha256.Sum256(python.ServingRuntime))
	_ = fs.WalkDir(python.SDK, "ferry", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := python.SDK.ReadFile(p)
			fmt.Fprintf(h, "sdk/%s %x\n", p, sha256.Sum256(b))
		}
		return err
	})
	return Repository + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Options configures a build.
type Options struct {
	Mirror   string
	CacheDir string
	Docker   string
	Force    bool
	Out      io.Writer
}

// Build makes the image unless the engine already holds it, and returns its tag.
func Build(ctx context.Context, o Options) (string, error) {
	if o.CacheDir == "" {
		o.CacheDir = "/var/cache/ferry/workload"
	}
	if o.Docker == "" {
		o.Docker = "docker"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	tag := Tag()
	p := progress.New(o.Out)
	if !o.Force && nodeimage.Exists(ctx, o.Docker, tag) {
		p.Printf("workload image %s is up to date", tag)
		return tag, nil
	}
	if o.Mirror == "" {
		m, err := nodeimage.AptMirror("/etc/apt/sources.list", "/etc/apt/sources.list.d")
		if err != nil {
			return "", fmt.Errorf("no Debian mirror given and none found in the apt sources (%w); pass --mirror URL", err)
		}
		o.Mirror = m
	}
	if os.Geteuid() != 0 {
		return "", errors.New("building the workload image needs root (debootstrap)")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", errors.New("debootstrap is not installed (apt-get install debootstrap)")
	}
	sum := sha256.Sum256([]byte(Suite + strings.Join(Packages, ",")))
	rootfs := filepath.Join(o.CacheDir, "rootfs-"+hex.EncodeToString(sum[:])[:12])
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return "", err
	}
	// The root filesystem is the cache entry: a second build on this
	// machine waits for the first, then finds the image made.
	unlock, err := nodeimage.Lock(ctx, rootfs+".lock", func() {
		p.Printf("waiting for another build to release %s.lock", rootfs)
	})
	if err != nil {
		return "", err
	}
	tag, err = build(ctx, o, p, rootfs, tag)
	return tag, errors.Join(err, unlock())
}

// build makes the image from the cached root filesystem, holding its lock.
func build(ctx context.Context, o Options, p *progress.Printer, rootfs, tag string) (string, error) {
	if !o.Force && nodeimage.Exists(ctx, o.Docker, tag) {
		p.Printf("workload image %s was built by another build meanwhile", tag)
		return tag, nil
	}
	err := p.Step(fmt.Sprintf("debootstrap Debian %s with %s (minutes when cold)", Suite, strings.Join(Packages, " ")), func() error {
		return debootstrap(ctx, rootfs, o.Mirror, filepath.Join(o.CacheDir, "debootstrap.log"))
	})
	if err != nil {
		return "", err
	}
	err = p.Step("add the examples, the serving runtime and the Python SDK, and import the image as "+tag, func() error {
		if err := writeExamples(rootfs); err != nil {
			return err
		}
		if err := writeRuntime(rootfs); err != nil {
			return err
		}
		if err := writeSDK(rootfs); err != nil {
			return err
		}
		return importRootfs(ctx, o.Docker, rootfs, tag)
	})
	if err != nil {
		return "", err
	}
	p.Printf("workload image %s built in %s", tag, p.Elapsed())
	return tag, nil
}

// debootstrap makes the root filesystem once (.ferry-base marks a finished
// debootstrap, .ferry-done the finished image tree) and adds the user
// workloads run as (uid 1000, as the charts' security contexts expect).
func debootstrap(ctx context.Context, rootfs, mirror, logPath string) error {
	if _, err := os.Stat(filepath.Join(rootfs, ".ferry-done")); err == nil {
		return nil
	}
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	if _, err := os.Stat(filepath.Join(rootfs, ".ferry-base")); err != nil {
		if err := os.RemoveAll(rootfs); err != nil {
			return err
		}
		c := shell.Command("debootstrap", "--variant=minbase", Suite, rootfs, mirror)
		c.Log = log
		if err := c.Run(ctx); err != nil {
			return fmt.Errorf("%w (log: %s)", err, logPath)
		}
		if err := os.WriteFile(filepath.Join(rootfs, ".ferry-base"), nil, 0o644); err != nil {
			return err
		}
	}
	// apt, unlike debootstrap, resolves virtual packages (python3-zmq needs
	// python3-cffi-backend-api-min) and can leave recommendations out.
	if err := aptInstall(ctx, rootfs, log); err != nil {
		return fmt.Errorf("%w (log: %s)", err, logPath)
	}
	if passwd, _ := os.ReadFile(filepath.Join(rootfs, "etc/passwd")); !strings.Contains(string(passwd), "\nferry:") {
		user := shell.Command("chroot", rootfs, "useradd", "--create-home", "--uid", "1000", "--user-group", "--shell", "/bin/bash", "ferry")
		user.Log = log
		if err := user.Run(ctx); err != nil {
			return fmt.Errorf("add user ferry: %w", err)
		}
	}
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*"} {
		matches, _ := filepath.Glob(filepath.Join(rootfs, glob))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(rootfs, ".ferry-done"), nil, 0o644)
}

// aptInstall installs Packages into rootfs with the chroot's apt, /proc
// mounted for the maintainer scripts and the host's resolver for the mirror.
func aptInstall(ctx context.Context, rootfs string, log io.Writer) error {
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/resolv.conf"), resolv, 0o644); err != nil {
		return err
	}
	proc := filepath.Join(rootfs, "proc")
	if err := shell.Command("mount", "-t", "proc", "proc", proc).Run(ctx); err != nil {
		return fmt.Errorf("mount /proc in the image tree: %w", err)
	}
	defer func() { _ = shell.Command("umount", "-l", proc).Run(context.WithoutCancel(ctx)) }()
	steps := [][]string{
		{"apt-get", "update"},
		append([]string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-install-recommends"}, Packages...),
		{"apt-get", "clean"},
	}
	for _, s := range steps {
		c := shell.Command("chroot", append([]string{rootfs}, s...)...)
		c.Log = log
		if err := c.Run(ctx); err != nil {
			return fmt.Errorf("chroot %s: %w", strings.Join(s, " "), err)
		}
	}
	return nil
}

// SDKDir is where the image's python3 finds the ferry SDK (import ferry).
const SDKDir = "usr/lib/python3/dist-packages/ferry"

// writeSDK preinstalls the Python SDK of this binary.
func writeSDK(rootfs string) error {
	dir := filepath.Join(rootfs, SDKDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := python.SDK.ReadDir("ferry")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := python.SDK.ReadFile("ferry/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeRuntime puts the built-in sklearn serving runtime at python.ServingRuntimePath.
func writeRuntime(rootfs string) error {
	path := filepath.Join(rootfs, python.ServingRuntimePath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, python.ServingRuntime, 0o644)
}

func writeExamples(rootfs string) error {
	dir := filepath.Join(rootfs, "opt/ferry/examples")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := examples.ReadDir("examples")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := examples.ReadFile("examples/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// importRootfs streams the root filesystem into `docker import`.
func importRootfs(ctx context.Context, docker, rootfs, tag string) error {
	tar := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", rootfs, "--exclude", "./.ferry-done", "--exclude", "./.ferry-base", "-c", ".")
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp := shell.Command(docker, "import",
		"--change", "ENV PYTHONUNBUFFERED=1 LANG=C.UTF-8 HOME=/home/ferry",
		"--change", "USER 1000:1000",
		"--change", "WORKDIR /home/ferry",
		"--change", `CMD ["python3"]`,
		"-", tag)
	imp.Stdin = pipe
	if err := tar.Start(); err != nil {
		return fmt.Errorf("tar %s: %w", rootfs, err)
	}
	impErr := imp.Run(ctx)
	tarErr := tar.Wait()
	if tarErr != nil {
		tarErr = fmt.Errorf("tar %s: %w", rootfs, tarErr)
	}
	return errors.Join(impErr, tarErr)
}
