package platform

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/client"
	"github.com/ferry-ml/ferry/internal/progress"
)

// SeedDaemonSet is the node agents' DaemonSet.
const SeedDaemonSet = "ferry-seed"

// UploadSeed streams every image of the bundle but the node image to the
// control plane, which verifies it before the node agents see it.
func UploadSeed(ctx context.Context, d *bundle.Dir, url, token, version string) (int64, error) {
	pr, pw := io.Pipe()
	var written int64
	go func() {
		w := bundle.NewWriter(pw, version, time.Now(), nil)
		for _, img := range d.Manifest.Images {
			if img.Role == bundle.RoleNode {
				continue
			}
			if err := w.AddFromDir(d, img); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		_, err := w.Close()
		written = w.Written()
		pw.CloseWithError(err)
	}()
	_, err := client.New(url, client.WithToken(token)).UploadSeedBundle(ctx, pr)
	pr.CloseWithError(err)
	if err != nil {
		return 0, fmt.Errorf("upload seed bundle: %w", err)
	}
	return written, nil
}

// waitSeeded waits until the seed agent of every node reports that it holds
// every image of the current seed bundle.
func waitSeeded(ctx context.Context, cs kubernetes.Interface, url, token string, timeout time.Duration) error {
	var last string
	c := client.New(url, client.WithToken(token))
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		sts, err := c.SeedStatus(ctx)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		current := map[string]bool{}
		for _, st := range sts {
			current[st.Node] = st.Current
		}
		var waiting []string
		for _, n := range nodes.Items {
			if !current[n.Name] {
				waiting = append(waiting, n.Name)
			}
		}
		last = "waiting for " + strings.Join(waiting, ", ")
		return len(waiting) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("seed images into the nodes: %s after %s; see kubectl -n %s logs ds/%s", last, timeout, Namespace, SeedDaemonSet)
	}
	return nil
}

// Seed uploads the bundle's images and waits until every node holds them.
func Seed(ctx context.Context, o Options, d *bundle.Dir, res Result, p *progress.Printer) error {
	cs, err := o.Client()
	if err != nil {
		return err
	}
	start := time.Now()
	err = p.Step("upload the bundle's images to the control plane", func() error {
		n, err := UploadSeed(ctx, d, res.URL, res.Token, o.Version)
		if err == nil {
			p.Printf("  %s, %s", bundle.MiB(n), bundle.Rate(n, time.Since(start)))
		}
		return err
	})
	if err != nil {
		return err
	}
	return p.Step("wait until the seed agent on every node has imported them", func() error {
		return waitSeeded(ctx, cs, res.URL, res.Token, o.Timeout)
	})
}
