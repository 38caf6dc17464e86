package airgap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/bundle"

	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/shell"
)

// BinaryPath is the entry of the ferry binary in a bundle.
const BinaryPath = bundle.FilesDir + "bin/ferry-linux-amd64"

// CheckBinary refuses a bundle whose ferry binary is not exe: the charts
// and the platform image of the bundle belong to that binary.
func CheckBinary(d *bundle.Dir, exe string) error {
	var want string
	for _, f := range d.Manifest.Files {
		if f.Path == BinaryPath {
			want = f.Digest
		}
	}
	if want == "" {
		return fmt.Errorf("bundle carries no %s", BinaryPath)
	}
	f, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("this ferry (%s) is not the bundle's (%s, version %s); run the bundle's own binary: tar -xf BUNDLE %s",
			got[:19], want[:19], d.Manifest.FerryVersion, BinaryPath)
	}
	return nil
}

// LoadNodeImage puts the bundle's node image into the container engine
// unless it is there already, and returns its reference.
func LoadNodeImage(d *bundle.Dir, ctx context.Context, docker string) (string, error) {
	node, ok := d.Manifest.Image(bundle.RoleNode)
	if !ok {
		return "", errors.New("bundle has no node image")
	}
	if shell.Command(docker, "image", "inspect", node.Ref).Run(ctx) == nil {
		return node.Ref, nil
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(d.WriteDockerArchive(pw, node)) }()
	cmd := shell.Command(docker, "load")
	cmd.Stdin = pr
	err := cmd.Run(ctx)
	pr.Close()
	if err != nil {
		return "", fmt.Errorf("load node image %s: %w", node.Ref, err)
	}
	return node.Ref, nil
}

// LoadIntoEngine puts every image of the bundle into the container engine.
func LoadIntoEngine(d *bundle.Dir, ctx context.Context, docker string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(d.WriteDockerArchive(pw, d.Manifest.Images...)) }()
	cmd := shell.Command(docker, "load")
	cmd.Stdin = pr
	err := cmd.Run(ctx)
	pr.Close()
	return err
}

// LoadIntoKind imports every image but the node image into every node of a
// kind cluster, skipping those all nodes already hold.
func LoadIntoKind(d *bundle.Dir, cluster string, p *progress.Printer) error {
	var todo []bundle.ImageInfo
	for _, img := range d.Manifest.Images {
		if img.Role == bundle.RoleNode {
			continue
		}
		if ok, err := kind.HasImage(cluster, img.Ref); err != nil || !ok {
			todo = append(todo, img)
		}
	}
	if len(todo) == 0 {
		p.Printf("  every image of the bundle is already on the nodes")
		return nil
	}
	archive := filepath.Join(d.Path, "load.tar")
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	defer os.Remove(archive)
	if err := errors.Join(d.WriteDockerArchive(f, todo...), f.Close()); err != nil {
		return err
	}
	for _, img := range todo {
		p.Printf("  %s (%s)", img.Ref, bundle.MiB(img.Size))
	}
	return kind.LoadArchive(cluster, archive)
}
