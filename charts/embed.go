// Package charts embeds ferry's Helm charts (platform, and more to come) so
// the binary can install them with no network, and renders them.
package charts

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

//go:embed all:platform all:gpu all:network
var sources embed.FS

// Names lists the embedded charts.
func Names() []string { return []string{"platform", "gpu", "network"} }

// Load reads an embedded chart.
func Load(name string) (*chart.Chart, error) {
	var files []*archive.BufferedFile
	err := fs.WalkDir(sources, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := sources.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: strings.TrimPrefix(p, name+"/"), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded chart %s: %w", name, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no embedded chart %q", name)
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", name, err)
	}
	return c, nil
}

// Render renders a chart as a release would be installed, validating values
// against the chart's schema; it returns the manifests sorted by file name.
func Render(name, release, namespace string, vals map[string]any) (string, error) {
	c, err := Load(name)
	if err != nil {
		return "", err
	}
	rv, err := util.ToRenderValues(c, vals, common.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true, Revision: 1}, common.DefaultCapabilities)
	if err != nil {
		return "", fmt.Errorf("values for chart %s: %w", name, err)
	}
	out, err := engine.Render(c, rv)
	if err != nil {
		return "", fmt.Errorf("render chart %s: %w", name, err)
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		if path.Ext(k) == ".yaml" && strings.TrimSpace(out[k]) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", k, strings.TrimSpace(out[k]))
	}
	return b.String(), nil
}
