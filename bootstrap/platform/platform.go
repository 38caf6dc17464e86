// Package platform puts ferry's control plane on a local cluster: the
// platform image built from this very executable, loaded into every node
// (no registry), and the platform chart installed or upgraded with Helm.
package platform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ml/ferry/bootstrap/install"
	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platformimage"
	"github.com/ferry-ml/ferry/internal/progress"
)

// Options says where to install and from which executable.
type Options struct {
	Cluster    string // kind cluster name
	Kubeconfig string
	Context    string
	Executable string // default: this process's executable
	Version    string
	Timeout    time.Duration
}

// Install builds and loads the platform image, then applies the chart.
func Install(ctx context.Context, o Options, p *progress.Printer) (install.Result, error) {
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return install.Result{}, err
		}
		o.Executable = exe
	}
	tag, err := platformimage.Tag(o.Executable, o.Version)
	if err != nil {
		return install.Result{}, err
	}
	present, err := kind.HasImage(o.Cluster, tag.String())
	if err != nil {
		return install.Result{}, err
	}
	if !present {
		err := p.Step("build the platform image from this executable and load it into every node", func() error {
			img, err := platformimage.Build(o.Executable, o.Version)
			if err != nil {
				return err
			}
			return load(o.Cluster, img)
		})
		if err != nil {
			return install.Result{}, err
		}
	}
	var res install.Result
	err = p.Step("install or upgrade the platform chart", func() error {
		var err error
		res, err = install.Apply(ctx, install.Options{
			Kubeconfig: o.Kubeconfig, Context: o.Context, Chart: "platform", Timeout: o.Timeout,
			Values: map[string]any{"image": map[string]any{
				"repository": platformimage.Repository, "tag": tag.TagStr(), "pullPolicy": "Never"}},
		})
		return err
	})
	if err != nil {
		return res, err
	}
	p.Printf("  platform release %s (revision %d)", res.Action, res.Revision)
	return res, nil
}

func load(cluster string, img platformimage.Image) error {
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
