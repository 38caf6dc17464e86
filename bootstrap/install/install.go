// Package install installs and upgrades ferry's embedded charts with the
// Helm v4 SDK: install or upgrade with wait, roll back a failed upgrade,
// keep a bounded history, and skip a release whose chart and values are
// unchanged (checksum in a release label).
package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	rv1 "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/ferry-ml/ferry/charts"
)

// ChecksumLabel on a release holds the checksum of its chart and values.
const ChecksumLabel = "ferry.io/checksum"

// Options selects the cluster, the release and its values.
type Options struct {
	Kubeconfig string
	Context    string
	Namespace  string
	Release    string
	Chart      string
	Values     map[string]any
	Timeout    time.Duration
	MaxHistory int
	Log        *slog.Logger
}

// Validate fills defaults.
func (o *Options) Validate() error {
	if o.Chart == "" {
		return errors.New("install: chart name is empty")
	}
	if o.Namespace == "" {
		o.Namespace = "ferry-system"
	}
	if o.Release == "" {
		o.Release = "ferry"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.MaxHistory <= 0 {
		o.MaxHistory = 10
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// Result says what Apply did.
type Result struct {
	Action   string `json:"action"` // installed, upgraded, unchanged
	Revision int    `json:"revision"`
	Checksum string `json:"checksum"`
}

func (o Options) config() (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Context, flags.Namespace = &o.Kubeconfig, &o.Context, &o.Namespace
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(o.Log.Handler()))
	if err := cfg.Init(flags, o.Namespace, "secret"); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return cfg, nil
}

// Checksum covers every file of the chart and the values.
func Checksum(c *chart.Chart, vals map[string]any) (string, error) {
	h := sha256.New()
	byName := map[string][]byte{}
	names := make([]string, 0, len(c.Raw))
	for _, f := range c.Raw {
		byName[f.Name] = f.Data
		names = append(names, f.Name)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s %x\n", n, sha256.Sum256(byName[n]))
	}
	v, err := json.Marshal(vals) // map keys are sorted by encoding/json
	if err != nil {
		return "", err
	}
	h.Write(v)
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// Apply installs the release, upgrades it, or leaves it alone when the
// deployed revision has the same checksum. A failed upgrade is rolled back.
func Apply(ctx context.Context, o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	c, err := charts.Load(o.Chart)
	if err != nil {
		return Result{}, err
	}
	sum, err := Checksum(c, o.Values)
	if err != nil {
		return Result{}, err
	}
	cfg, err := o.config()
	if err != nil {
		return Result{}, err
	}
	last, err := lastRelease(cfg, o.Release)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return Result{}, fmt.Errorf("helm history %s: %w", o.Release, err)
	}
	labels := map[string]string{ChecksumLabel: sum}
	if last == nil {
		in := action.NewInstall(cfg)
		in.Namespace, in.ReleaseName, in.CreateNamespace = o.Namespace, o.Release, true
		in.WaitStrategy, in.Timeout, in.Labels = kube.StatusWatcherStrategy, o.Timeout, labels
		rel, err := in.RunWithContext(ctx, c, o.Values)
		if err != nil {
			return Result{}, fmt.Errorf("install chart %s as %s: %w", o.Chart, o.Release, err)
		}
		return Result{Action: "installed", Revision: revision(rel), Checksum: sum}, nil
	}
	if last.Info != nil && last.Info.Status == rcommon.StatusDeployed && last.Labels[ChecksumLabel] == sum {
		return Result{Action: "unchanged", Revision: last.Version, Checksum: sum}, nil
	}
	up := action.NewUpgrade(cfg)
	up.Namespace, up.WaitStrategy, up.Timeout, up.Labels, up.MaxHistory = o.Namespace, kube.StatusWatcherStrategy, o.Timeout, labels, o.MaxHistory
	rel, err := up.RunWithContext(ctx, o.Release, c, o.Values)
	if err != nil {
		rb := action.NewRollback(cfg)
		rb.WaitStrategy, rb.Timeout, rb.MaxHistory = kube.StatusWatcherStrategy, o.Timeout, o.MaxHistory
		if rbErr := rb.Run(o.Release); rbErr != nil {
			return Result{}, fmt.Errorf("upgrade %s failed (%w) and so did the rollback: %v", o.Release, err, rbErr)
		}
		return Result{}, fmt.Errorf("upgrade %s failed and was rolled back to revision %d: %w", o.Release, last.Version, err)
	}
	return Result{Action: "upgraded", Revision: revision(rel), Checksum: sum}, nil
}

// Uninstall removes the release and waits for its objects to go.
func Uninstall(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	un := action.NewUninstall(cfg)
	un.WaitStrategy, un.Timeout, un.IgnoreNotFound = kube.StatusWatcherStrategy, o.Timeout, true
	if _, err := un.Run(o.Release); err != nil {
		return fmt.Errorf("uninstall %s: %w", o.Release, err)
	}
	return nil
}

func lastRelease(cfg *action.Configuration, name string) (*rv1.Release, error) {
	h := action.NewHistory(cfg)
	h.Max = 1
	rels, err := h.Run(name)
	if err != nil {
		return nil, err
	}
	var last *rv1.Release
	for _, r := range rels {
		if rr, ok := r.(*rv1.Release); ok && (last == nil || rr.Version > last.Version) {
			last = rr
		}
	}
	if last == nil {
		return nil, driver.ErrReleaseNotFound
	}
	return last, nil
}

func revision(rel any) int {
	if r, ok := rel.(*rv1.Release); ok {
		return r.Version
	}
	return 0
}

// Release is one deployed release as `ferry status` shows it.
type Release struct {
	Name       string    `json:"name"`
	Chart      string    `json:"chart"`
	AppVersion string    `json:"appVersion"`
	Revision   int       `json:"revision"`
	Status     string    `json:"status"`
	Updated    time.Time `json:"updated"`
	Checksum   string    `json:"checksum,omitempty"`
}

// List returns the releases of the namespace, sorted by name.
func List(o Options) ([]Release, error) {
	o.Chart = "-" // List needs no chart
	if err := o.Validate(); err != nil {
		return nil, err
	}
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	l := action.NewList(cfg)
	l.All = true
	rels, err := l.Run()
	if err != nil {
		return nil, fmt.Errorf("helm list in %s: %w", o.Namespace, err)
	}
	var out []Release
	for _, r := range rels {
		rr, ok := r.(*rv1.Release)
		if !ok {
			continue
		}
		rel := Release{Name: rr.Name, Revision: rr.Version, Checksum: rr.Labels[ChecksumLabel]}
		if rr.Chart != nil && rr.Chart.Metadata != nil {
			rel.Chart = rr.Chart.Metadata.Name + "-" + rr.Chart.Metadata.Version
			rel.AppVersion = rr.Chart.Metadata.AppVersion
		}
		if rr.Info != nil {
			rel.Status = string(rr.Info.Status)
			rel.Updated = rr.Info.LastDeployed
		}
		out = append(out, rel)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
