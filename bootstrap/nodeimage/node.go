package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ferry-ml/ferry/internal/shell"
)

// node imports the rootfs, adds the Kubernetes layer and preloads the
// component images into the node's containerd, then tags the result.
func (b *builder) node(ctx context.Context) error {
	base := "ferry/node-base:" + DebianSuite + "-" + rootfsHash()
	if !Exists(ctx, b.o.Docker, base) {
		if err := b.importRootfs(ctx, base); err != nil {
			return err
		}
	}
	dir := filepath.Join(b.work, "node")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := writeAssets("assets/node", filepath.Join(dir, "files")); err != nil {
		return err
	}
	kind := filepath.Join(dir, "files/kind")
	if err := os.MkdirAll(filepath.Join(kind, "manifests"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(kind, "version"), []byte(KubernetesVersion), 0o644); err != nil {
		return err
	}
	storage, _ := assets.ReadFile("assets/default-storage.yaml")
	if err := os.WriteFile(filepath.Join(kind, "manifests/default-storage.yaml"), storage, 0o644); err != nil {
		return err
	}
	for _, bin := range nodeBinaries {
		if err := copyFile(filepath.Join(b.bin, bin), filepath.Join(dir, "bin", bin), 0o755); err != nil {
			return err
		}
	}
	df, _ := assets.ReadFile("assets/Dockerfile.node")
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		return err
	}
	layer := "ferry/node-nopreload:" + KubernetesVersion
	if err := shell.Command(b.o.Docker, "build", "-q", "--force-rm", "--build-arg", "BASE="+base, "-t", layer, dir).Run(ctx); err != nil {
		return err
	}
	script, _ := assets.ReadFile("assets/preload.sh")
	if err := os.WriteFile(filepath.Join(b.work, "preload.sh"), script, 0o755); err != nil {
		return err
	}
	name := "ferry-node-preload"
	_ = shell.Command(b.o.Docker, "rm", "-f", name).Run(ctx)
	err := shell.Command(b.o.Docker, "run", "-d", "--name", name, "--privileged", "--entrypoint", "sleep",
		"-v", b.imagesTar()+":/preload/images.tar:ro", "-v", filepath.Join(b.work, "preload.sh")+":/preload/preload.sh:ro",
		layer, "infinity").Run(ctx)
	if err == nil {
		err = shell.Command(b.o.Docker, "exec", name, "/preload/preload.sh").Run(ctx)
	}
	if err == nil {
		err = shell.Command(b.o.Docker, "commit",
			"--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`, "--change", "CMD []",
			"--change", "LABEL "+InputsLabel+"="+InputHash(), name, b.tag).Run(ctx)
	}
	cleanup := shell.Command(b.o.Docker, "rm", "-f", name).Run(context.WithoutCancel(ctx))
	_ = shell.Command(b.o.Docker, "rmi", layer).Run(context.WithoutCancel(ctx))
	return errors.Join(err, cleanup)
}

// importRootfs streams the rootfs as a tar into `docker import`.
func (b *builder) importRootfs(ctx context.Context, ref string) error {
	tar := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", b.rootfs, "--exclude", "./.ferry-done", "-c", ".")
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp := shell.Command(b.o.Docker, "import", "--change", "ENV container=docker",
		"--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`, "-", ref)
	imp.Stdin = pipe
	if err := tar.Start(); err != nil {
		return fmt.Errorf("tar %s: %w", b.rootfs, err)
	}
	impErr := imp.Run(ctx)
	tarErr := tar.Wait()
	if tarErr != nil {
		tarErr = fmt.Errorf("tar %s: %w", b.rootfs, tarErr)
	}
	return errors.Join(impErr, tarErr)
}
