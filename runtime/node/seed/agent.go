// Package seed is the node agent (`ferry seed`, a DaemonSet) that imports
// the control plane's seed images into its node's containerd, so that a
// cluster with no registry gets the bundle's images.
package seed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

// Agent imports the control plane's seed images into its node's containerd.
type Agent struct {
	Server      string // control-plane URL
	TokenFile   string // the ferry-seed account's token
	Address     string // containerd socket
	Namespace   string // containerd namespace the kubelet uses
	Snapshotter string
	Interval    time.Duration
	Listen      string // serves /readyz: 200 once every image is imported
	Node        string // reported to the control plane with each sync
	Log         *slog.Logger
	HTTP        *http.Client
	synced      atomic.Value // generation of the image list last fully imported
	poke        chan struct{}
	client      *client.Client
}

// Validate fills defaults.
func (a *Agent) Validate() error {
	if a.Server == "" || a.TokenFile == "" {
		return errors.New("seed: --server and --token-file are required")
	}
	if a.Log == nil {
		return errors.New("seed: logger is nil")
	}
	if a.Address == "" {
		a.Address = "/run/containerd/containerd.sock"
	}
	if a.Namespace == "" {
		a.Namespace = "k8s.io"
	}
	if a.Snapshotter == "" {
		a.Snapshotter = "overlayfs"
	}
	if a.Interval <= 0 {
		a.Interval = 30 * time.Second
	}
	if a.HTTP == nil {
		a.HTTP = &http.Client{Timeout: 30 * time.Minute}
	}
	a.poke = make(chan struct{}, 1)
	a.client = client.New(a.Server, client.WithHTTPClient(a.HTTP), client.WithTokenFunc(func() (string, error) {
		tok, err := os.ReadFile(a.TokenFile)
		return string(tok), err
	}))
	a.synced.Store("")
	return nil
}

// Ready says whether the node holds every image the control plane lists
// now; when it does not, it wakes the sync loop.
func (a *Agent) Ready(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, gen, err := a.list(ctx)
	if err == nil && gen == a.synced.Load().(string) {
		return true
	}
	select {
	case a.poke <- struct{}{}:
	default:
	}
	return false
}

// Run syncs every Interval until ctx ends, serving readiness on Listen.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.Listen != "" {
		ln, err := net.Listen("tcp", a.Listen)
		if err != nil {
			return err
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !a.Ready(r.Context()) {
				http.Error(w, "seeding", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok\n"))
		})}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
	}
	for {
		n, err := a.Sync(ctx)
		if err != nil {
			a.Log.Warn("seed sync failed", "err", err)
		} else if n > 0 {
			a.Log.Info("seeded", "imported", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.poke:
		case <-time.After(a.Interval):
		}
	}
}

// list fetches the control plane's image list and its generation.
func (a *Agent) list(ctx context.Context) ([]v1.SeedImage, string, error) {
	want, err := a.client.SeedImages(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("seed image list: %w", err)
	}
	return want, v1.SeedGeneration(want), nil
}

// Sync imports every seed image the node lacks; it returns how many it imported.
func (a *Agent) Sync(ctx context.Context) (int, error) {
	want, gen, err := a.list(ctx)
	if err != nil {
		return 0, err
	}
	client, err := containerd.New(a.Address, containerd.WithDefaultNamespace(a.Namespace))
	if err != nil {
		return 0, fmt.Errorf("containerd at %s: %w", a.Address, err)
	}
	defer client.Close()
	imported := 0
	for _, img := range want {
		have, err := a.has(ctx, client, img)
		if err != nil {
			return imported, err
		}
		if have {
			continue
		}
		start := time.Now()
		if err := a.importImage(ctx, client, img); err != nil {
			return imported, fmt.Errorf("import %s: %w", img.Ref, err)
		}
		imported++
		a.Log.Info("imported", "image", img.Ref, "bytes", img.Size, "took", time.Since(start).Round(time.Millisecond).String())
	}
	a.synced.Store(gen)
	if a.Node != "" {
		if err := a.report(ctx, gen); err != nil {
			return imported, fmt.Errorf("report to the control plane: %w", err)
		}
	}
	return imported, nil
}

func (a *Agent) report(ctx context.Context, gen string) error {
	return a.client.ReportSeed(ctx, v1.SeedReport{Node: a.Node, Generation: gen})
}

// has says whether containerd holds the image, with the same config, unpacked.
func (a *Agent) has(ctx context.Context, client *containerd.Client, img v1.SeedImage) (bool, error) {
	named, err := reference.ParseDockerRef(img.Ref)
	if err != nil {
		return false, fmt.Errorf("image %q: %w", img.Ref, err)
	}
	i, err := client.ImageService().Get(ctx, named.String())
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ci := containerd.NewImage(client, i)
	cfg, err := ci.Config(ctx)
	if err != nil || cfg.Digest.String() != img.Config {
		return false, nil
	}
	unpacked, err := ci.IsUnpacked(ctx, a.Snapshotter)
	return err == nil && unpacked, nil
}

func (a *Agent) importImage(ctx context.Context, client *containerd.Client, img v1.SeedImage) error {
	archive, err := a.client.SeedArchive(ctx, img.Ref)
	if err != nil {
		return err
	}
	defer archive.Close()
	imgs, err := client.Import(ctx, archive)
	if err != nil {
		return err
	}
	for _, i := range imgs {
		if err := unpack(ctx, client, i, a.Snapshotter); err != nil {
			return err
		}
	}
	return nil
}

func unpack(ctx context.Context, client *containerd.Client, i images.Image, snapshotter string) error {
	return containerd.NewImage(client, i).Unpack(ctx, snapshotter)
}
