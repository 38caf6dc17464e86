// Package platform puts ferry's control plane on a cluster, local or
// remote: the platform image built from this very executable and delivered
// to every node (no registry), the platform chart and, when asked for or
// detected, the gpu chart, installed or upgraded with Helm; then it finds a
// URL the server answers on and reads the admin token the server published.
package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/bootstrap/install"
	"github.com/ferry-ml/ferry/bootstrap/linuxbin"
	"github.com/ferry-ml/ferry/bootstrap/platformimage"
	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/internal/kubeclient"
	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/version"
)

// Namespace holds the control plane and the GPU plugin.
const Namespace = v1.SystemNamespace

// Release names.
const (
	PlatformRelease = "ferry"
	GPURelease      = "ferry-gpu"
)

// AdminTokenSecret is the Secret the in-cluster server writes its admin token to.
const AdminTokenSecret = v1.AdminTokenSecret

// ManagedBy labels every object ferry creates outside Helm.
var ManagedBy = map[string]string{v1.ManagedByLabel: v1.ManagedByValue}

// Target is the cluster to install into.
type Target struct {
	Kubeconfig string // empty: $KUBECONFIG or ~/.kube/config
	Context    string // empty: the kubeconfig's current context
	// KindCluster names the local kind cluster the target is, if it is one;
	// empty lets Install find out from the nodes' provider IDs.
	KindCluster string
	// NewClient makes the target's clientset (default: kubeclient.New).
	NewClient func(kubeconfig, context string) (kubernetes.Interface, error)
}

// resolve names the kubeconfig's current context when none was given.
func (t *Target) resolve() error {
	if t.Context != "" {
		return nil
	}
	cur, err := kubeclient.CurrentContext(t.Kubeconfig)
	t.Context = cur
	return err
}

// Client returns a clientset for the target.
func (t Target) Client() (kubernetes.Interface, error) {
	if t.NewClient != nil {
		return t.NewClient(t.Kubeconfig, t.Context)
	}
	return kubeclient.New(t.Kubeconfig, t.Context)
}

// Options says where to install, from which executable, and with what.
type Options struct {
	Target
	Executable string // default: this process's executable
	// image is the Linux ferry executable the platform image is built
	// from, for arch, the nodes' architecture (prepare sets both).
	image, arch string
	Version     string
	Timeout     time.Duration
	GPU         GPUMode
	// Seed runs the seed DaemonSet (node agents that import uploaded images).
	Seed bool
	// Registry lists images pushed to the site's registry: the charts pull
	// them from there (by digest) instead of finding them on the nodes.
	Registry []bundle.Pushed
}

// pushedRepo finds where the image of a repository was pushed.
func pushedRepo(pushed []bundle.Pushed, repo string) (bundle.Pushed, bool) {
	for _, p := range pushed {
		if r, err := name.ParseReference(p.Ref); err == nil && r.Context().Name() == repo {
			return p, true
		}
	}
	return bundle.Pushed{}, false
}

// Result is what Install did and how to reach the server.
type Result struct {
	Platform install.Result  `json:"platform"`
	GPU      *install.Result `json:"gpu,omitempty"`
	GPUMode  string          `json:"gpuMode"`
	GPUNodes []NodeGPUs      `json:"gpuNodes"`
	Image    string          `json:"image"`
	URL      string          `json:"url"`
	// Gateway is the serving gateway's URL ("" when none answers from here).
	Gateway string `json:"gateway,omitempty"`
	Token   string `json:"-"`
	Context string `json:"context"`
}

// Install makes the platform run on the target and returns how to reach it.
func Install(ctx context.Context, o Options, p *progress.Printer) (Result, error) {
	cs, tag, err := o.prepare(ctx)
	if err != nil {
		return Result{Context: o.Context}, err
	}
	res := Result{Context: o.Context, Image: tag.String()}
	if err := ensureNamespace(ctx, cs); err != nil {
		return res, err
	}
	helm := install.Options{Kubeconfig: o.Kubeconfig, Context: o.Context, Namespace: Namespace, Timeout: o.Timeout}
	image := map[string]any{"repository": platformimage.Repository, "tag": tag.TagStr(), "pullPolicy": "Never"}
	if len(o.Registry) > 0 {
		pushed, ok := pushedRepo(o.Registry, tag.Context().Name())
		if !ok {
			return res, fmt.Errorf("the platform image %s was not pushed to the registry", tag)
		}
		image = map[string]any{"repository": pushed.Repository, "tag": tag.TagStr(), "digest": pushed.Digest, "pullPolicy": "IfNotPresent"}
		res.Image = pushed.Repository + "@" + pushed.Digest
	} else if err := deliverImage(ctx, cs, &o, tag, p); err != nil {
		return res, err
	}
	lp, err := loopbackPorts(ctx, o)
	if err != nil {
		return res, err
	}
	err = p.Step("install or upgrade the platform chart", func() error {
		h := helm
		h.Chart, h.Release = "platform", PlatformRelease
		h.Values = serviceValues(lp)
		h.Values["image"] = image
		if o.Seed {
			h.Values["seed"] = map[string]any{"enabled": true}
		}
		res.Platform, err = install.Apply(ctx, h)
		return err
	})
	if err != nil {
		return res, err
	}
	p.Printf("  platform release %s (revision %d)", res.Platform.Action, res.Platform.Revision)

	if err := applyGPU(ctx, cs, o, helm, image, &res, p); err != nil {
		return res, err
	}
	err = p.Step("reach the control plane and read its admin token", func() error {
		res.URL, res.Token, err = access(ctx, cs, o, lp.server)
		return err
	})
	if err != nil {
		return res, err
	}
	// The gateway is optional to the CLI: without it `ferry up` still works,
	// and deployments print their path instead of a URL.
	err = p.Step("reach the serving gateway", func() error {
		res.Gateway, err = gatewayURL(ctx, cs, lp.gateway)
		return err
	})
	if err != nil {
		p.Printf("  warning: %v", err)
	}
	return res, nil
}

// prepare fills the defaults (timeout, this executable, the current
// context), finds the Linux executable for the nodes' architecture, and
// returns a client and the platform image's tag.
func (o *Options) prepare(ctx context.Context) (kubernetes.Interface, name.Tag, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, name.Tag{}, err
		}
		o.Executable = exe
	}
	if err := o.Target.resolve(); err != nil {
		return nil, name.Tag{}, err
	}
	cs, err := o.Client()
	if err != nil {
		return nil, name.Tag{}, err
	}
	if o.arch, err = nodeArch(ctx, cs); err != nil {
		return nil, name.Tag{}, err
	}
	self := linuxbin.Self{Path: o.Executable, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: version.Version, Commit: version.Commit}
	if o.image, err = linuxbin.For(self, o.arch); err != nil {
		return nil, name.Tag{}, err
	}
	tag, err := platformimage.Tag(o.image, o.Version)
	return cs, tag, err
}

// nodeArch is the one architecture of the cluster's nodes (this machine's,
// when no node reports one yet).
func nodeArch(ctx context.Context, cs kubernetes.Interface) (string, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	var arches []string
	for _, n := range nodes.Items {
		if a := n.Status.NodeInfo.Architecture; a != "" && !slices.Contains(arches, a) {
			arches = append(arches, a)
		}
	}
	switch len(arches) {
	case 0:
		return runtime.GOARCH, nil
	case 1:
		return arches[0], nil
	}
	slices.Sort(arches)
	return "", fmt.Errorf("the cluster's nodes are of more than one architecture (%s): ferry's platform image is built for one", strings.Join(arches, ", "))
}

// ensureNamespace creates the platform's namespace with ferry's label, so
// that uninstall can find everything ferry made.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace, Labels: ManagedBy}}
	_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err == nil || apierrors.IsAlreadyExists(err) {
		return nil
	}
	return fmt.Errorf("create namespace %s: %w", Namespace, err)
}

// access finds a URL the server answers on from here, and the admin token.
func access(ctx context.Context, cs kubernetes.Interface, o Options, loopback int) (string, string, error) {
	token, err := waitAdminToken(ctx, cs, time.Minute)
	if err != nil {
		return "", "", err
	}
	url, err := serverURL(ctx, cs, o.KindCluster != "", loopback)
	if err != nil {
		return "", token, err
	}
	return url, token, nil
}

var errNoToken = errors.New("no admin token")
