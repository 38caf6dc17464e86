package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferry-ml/ferry/internal/shell"
)

// imagesTar is where the component images are saved for the preload.
func (b *builder) imagesTar() string { return filepath.Join(b.work, "images.tar") }

// images builds every component image FROM scratch and saves them in one archive.
func (b *builder) images(ctx context.Context) error {
	dir := filepath.Join(b.work, "images")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	refs := []string{}
	for _, c := range componentImages {
		ctxDir := filepath.Join(dir, c.bin)
		if err := os.MkdirAll(ctxDir, 0o755); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(b.bin, c.bin), filepath.Join(ctxDir, c.bin), 0o755); err != nil {
			return err
		}
		df := fmt.Sprintf("FROM scratch\nCOPY %s %s\nENV PATH=/usr/local/bin:/usr/bin:/bin\n", c.bin, c.path)
		if c.entrypoint {
			df += fmt.Sprintf("ENTRYPOINT [%q]\n", c.path)
		}
		if err := b.dockerBuild(ctx, ctxDir, df, c.ref); err != nil {
			return err
		}
		refs = append(refs, c.ref)
	}
	if err := b.busybox(ctx, filepath.Join(dir, "busybox")); err != nil {
		return err
	}
	if err := b.kubeProxy(ctx, filepath.Join(dir, "kube-proxy")); err != nil {
		return err
	}
	refs = append(refs, BusyboxImage, kubeProxyImage)
	_ = os.Remove(b.imagesTar())
	return shell.Command(b.o.Docker, append([]string{"save", "-o", b.imagesTar()}, refs...)...).Run(ctx)
}

func (b *builder) dockerBuild(ctx context.Context, dir, dockerfile, ref string) error {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	return shell.Command(b.o.Docker, "build", "-q", "--force-rm", "-t", ref, dir).Run(ctx)
}

// busybox makes a tiny shell image from the host's busybox-static.
func (b *builder) busybox(ctx context.Context, dir string) error {
	bb, err := lookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox not found: apt-get install busybox-static")
	}
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "tmp", "etc", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(bb, filepath.Join(root, "bin/busybox"), 0o755); err != nil {
		return err
	}
	list, err := shell.Command(bb, "--list").Output(ctx)
	if err != nil {
		return fmt.Errorf("%s is not a static busybox (apt-get install busybox-static): %w", bb, err)
	}
	for _, applet := range strings.Fields(list) {
		if applet != "busybox" {
			if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		return err
	}
	return b.dockerBuild(ctx, dir, "FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD [\"sh\"]\n", BusyboxImage)
}

// kubeProxy makes the kube-proxy image: the static binary plus nft, the
// xtables tools and conntrack with their shared libraries from the rootfs.
func (b *builder) kubeProxy(ctx context.Context, dir string) error {
	root := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "usr/local/bin"), 0o755); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(b.bin, "kube-proxy"), filepath.Join(root, "usr/local/bin/kube-proxy"), 0o755); err != nil {
		return err
	}
	files := map[string]bool{}
	tools := []string{"/usr/sbin/xtables-nft-multi", "/usr/sbin/xtables-legacy-multi", "/usr/sbin/nft", "/usr/sbin/conntrack"}
	plugins, _ := filepath.Glob(filepath.Join(b.rootfs, "usr/lib/x86_64-linux-gnu/xtables/*.so"))
	for _, p := range plugins {
		tools = append(tools, strings.TrimPrefix(p, b.rootfs))
	}
	for _, t := range tools {
		files[t] = true
		libs, err := shell.Command("chroot", b.rootfs, "ldd", t).Output(ctx)
		if err != nil {
			return err
		}
		for _, l := range parseLdd(libs) {
			files[l] = true
		}
	}
	sorted := make([]string, 0, len(files))
	for f := range files {
		sorted = append(sorted, f)
	}
	sort.Strings(sorted)
	for _, f := range sorted {
		if err := copyFile(filepath.Join(b.rootfs, f), filepath.Join(root, f), 0o755); err != nil {
			return err
		}
	}
	for _, t := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		nft, legacy := strings.Replace(t, "tables", "tables-nft", 1), strings.Replace(t, "tables", "tables-legacy", 1)
		for name, target := range map[string]string{t: "xtables-nft-multi", nft: "xtables-nft-multi", legacy: "xtables-legacy-multi"} {
			if err := os.Symlink(target, filepath.Join(root, "usr/sbin", name)); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{"tmp", "run", "var/run", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	for _, f := range []string{"etc/ethertypes", "etc/protocols", "etc/services"} {
		_ = copyFile(filepath.Join(b.rootfs, f), filepath.Join(root, f), 0o644)
	}
	return b.dockerBuild(ctx, dir, "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", kubeProxyImage)
}

// parseLdd returns the absolute library paths in ldd's output.
func parseLdd(out string) []string {
	var libs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		}
	}
	return libs
}

// copyFile copies src (following links) to dst, creating dst's directory.
func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}
