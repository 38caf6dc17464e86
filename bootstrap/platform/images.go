package platform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platformimage"
	"github.com/ferry-ml/ferry/internal/progress"
)

// kindClusterOf names the kind cluster whose nodes these are, from their
// provider IDs (kind://docker/CLUSTER/NODE), or "" when they are not all
// nodes of one kind cluster.
func kindClusterOf(nodes []corev1.Node) string {
	cluster := ""
	for _, n := range nodes {
		rest, ok := strings.CutPrefix(n.Spec.ProviderID, "kind://")
		parts := strings.Split(rest, "/")
		if !ok || len(parts) != 3 || parts[1] == "" || (cluster != "" && parts[1] != cluster) {
			return ""
		}
		cluster = parts[1]
	}
	return cluster
}

// missingImage lists the nodes whose image list lacks ref.
func missingImage(nodes []corev1.Node, ref string) []string {
	var missing []string
	for _, n := range nodes {
		found := false
		for _, img := range n.Status.Images {
			if slices.Contains(img.Names, ref) || slices.Contains(img.Names, "docker.io/"+ref) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, n.Name)
		}
	}
	return missing
}

// deliverImage puts the platform image on every node. Nodes of a kind
// cluster on this machine's engine get it through the engine (no registry);
// other clusters must already hold it.
func deliverImage(ctx context.Context, cs kubernetes.Interface, o *Options, tag name.Tag, p *progress.Printer) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return fmt.Errorf("context %s: the cluster has no nodes", o.Context)
	}
	if o.KindCluster == "" {
		if c := kindClusterOf(nodes.Items); c != "" {
			if ok, err := kind.Exists(c); err == nil && ok {
				o.KindCluster = c
			}
		}
	}
	if o.KindCluster == "" {
		if missing := missingImage(nodes.Items, tag.String()); len(missing) > 0 {
			return fmt.Errorf("the platform image %s is not on node(s) %s, and they are not kind nodes of this machine's container engine, "+
				"so ferry cannot load it without a registry: import it into each node's containerd (ctr -n k8s.io images import) and run up again",
				tag, strings.Join(missing, ", "))
		}
		return nil
	}
	// The nodes' reported images answer without a docker exec per node; the
	// kubelet may lag just after a load, so ask the nodes before rebuilding.
	if len(missingImage(nodes.Items, tag.String())) == 0 {
		return nil
	}
	present, err := kind.HasImage(o.KindCluster, tag.String())
	if err != nil || present {
		return err
	}
	from := "this executable"
	if o.image != o.Executable {
		from = o.image
	}
	return p.Step(fmt.Sprintf("build the platform image (linux/%s) from %s and load it into every node of %s", o.arch, from, o.KindCluster), func() error {
		img, err := platformimage.Build(o.image, o.Version, o.arch)
		if err != nil {
			return err
		}
		return loadArchive(o.KindCluster, img)
	})
}

func loadArchive(cluster string, img platformimage.Image) error {
	dir, err := os.MkdirTemp("", "ferry-platform-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "platform.tar")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := img.WriteArchive(f); err != nil {
		f.Close()
		return fmt.Errorf("write platform image archive: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return kind.LoadArchive(cluster, path)
}
