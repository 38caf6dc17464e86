package kind

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/ferry-ml/ferry/internal/shell"
)

// LoadImages copies images from the local Docker engine into every node's
// containerd, so pods can use them with no registry.
func LoadImages(ctx context.Context, name, docker string, images ...string) error {
	if docker == "" {
		docker = "docker"
	}
	nodes, err := internalNodes(name)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ferry-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "images.tar")
	if err := shell.Command(docker, append([]string{"save", "-o", archive}, images...)...).Run(ctx); err != nil {
		return err
	}
	return loadInto(nodes, archive)
}

// LoadArchive imports a docker-archive tarball into every node's containerd.
func LoadArchive(name, archive string) error {
	nodes, err := internalNodes(name)
	if err != nil {
		return err
	}
	return loadInto(nodes, archive)
}

// internalNodes lists the cluster's nodes; a cluster without any is an error.
func internalNodes(name string) ([]nodes.Node, error) {
	list, err := provider().ListInternalNodes(name)
	if err != nil {
		return nil, fmt.Errorf("list nodes of cluster %s: %w", name, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("cluster %s has no nodes; `ferry up` creates it", name)
	}
	return list, nil
}

func loadInto(list []nodes.Node, archive string) error {
	for _, n := range list {
		f, err := os.Open(archive)
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("load images into node %s: %w", n.String(), err)
		}
	}
	return nil
}

// HasImage reports whether every node of the cluster already holds image.
func HasImage(name, image string) (bool, error) {
	list, err := provider().ListInternalNodes(name)
	if err != nil {
		return false, fmt.Errorf("list nodes of cluster %s: %w", name, err)
	}
	for _, n := range list {
		if id, err := nodeutils.ImageID(n, image); err != nil || id == "" {
			return false, nil
		}
	}
	return len(list) > 0, nil
}
