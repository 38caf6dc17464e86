package nodeimage

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// assets holds the node's files, the storage manifest, the Dockerfile and the
// wrapper modules that pin the Kubernetes and etcd builds.
//
//go:embed all:assets
var assets embed.FS

// InputHash is the SHA-256 over every input of the node image: versions,
// package list, recipe and every embedded asset. The mirror is not an input:
// any mirror of the same Debian suite serves the same packages.
func InputHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "recipe=%s\nk8s=%s\netcd=%s\ncoredns=%s\ncrictl=%s\nlocalpath=%s\ncontainerd=%s\nsuite=%s\npackages=%s\n",
		recipe, KubernetesVersion, EtcdVersion, CoreDNSVersion, CrictlVersion, LocalPathVersion, ContainerdVersion, DebianSuite, strings.Join(debPackages, ","))
	for _, c := range componentImages {
		fmt.Fprintf(h, "image=%s:%s:%s:%v\n", c.ref, c.bin, c.path, c.entrypoint)
	}
	fmt.Fprintf(h, "node-binaries=%s\n", strings.Join(nodeBinaries, ","))
	hashTree(h, assets, "assets")
	return hex.EncodeToString(h.Sum(nil))
}

// binHash covers only what the binaries depend on, so a change to a node
// file does not rebuild Kubernetes.
func binHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "k8s=%s\netcd=%s\n", KubernetesVersion, EtcdVersion)
	for _, g := range goInstalls {
		fmt.Fprintf(h, "%s=%s %s\n", g.bin, g.pkg, g.ldflags)
	}
	hashTree(h, assets, "assets/k8sbuild")
	hashTree(h, assets, "assets/etcdbuild")
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// rootfsHash covers only what debootstrap depends on.
func rootfsHash() string {
	sum := sha256.Sum256([]byte(DebianSuite + "\n" + strings.Join(debPackages, ",")))
	return hex.EncodeToString(sum[:])[:16]
}

type writer interface{ Write([]byte) (int, error) }

func hashTree(h writer, fsys fs.FS, root string) {
	var paths []string
	_ = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		b, _ := fs.ReadFile(fsys, p)
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s %x\n", p, sum)
	}
}

// Tag is the node image tag for the current inputs.
func Tag() string { return Repository + ":" + KubernetesVersion + "-" + InputHash()[:12] }
