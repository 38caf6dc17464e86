package platform

import (
	"context"
	"fmt"

	"github.com/ferry-ml/ferry/bootstrap/install"
	"github.com/ferry-ml/ferry/bootstrap/platformimage"
	"github.com/ferry-ml/ferry/internal/progress"
)

// The node agent's release lives in kube-system, beside the cluster's other
// networking; only ferry's own kind clusters get it (other clusters bring
// their CNI), and uninstalling the platform leaves it, as the pods need it.
const (
	NetworkRelease   = "ferry-network"
	NetworkNamespace = "kube-system"
)

// InstallNetwork puts ferry's node agent on a kind cluster made from ferry's
// node image: the platform image (built from this executable, or already
// loaded from a bundle) goes into every node first, since no node has a pod
// network, nor is Ready, until the agent writes its CNI config.
func InstallNetwork(ctx context.Context, o Options, p *progress.Printer) (install.Result, error) {
	cs, tag, err := o.prepare(ctx)
	if err != nil {
		return install.Result{}, err
	}
	if err := deliverImage(ctx, cs, &o, tag, p); err != nil {
		return install.Result{}, err
	}
	var res install.Result
	err = p.Step("install or upgrade the node agent (pod network, NetworkPolicy)", func() error {
		res, err = install.Apply(ctx, install.Options{
			Kubeconfig: o.Kubeconfig, Context: o.Context, Namespace: NetworkNamespace, Timeout: o.Timeout,
			Chart: "network", Release: NetworkRelease,
			Values: map[string]any{"image": map[string]any{"repository": platformimage.Repository, "tag": tag.TagStr(), "pullPolicy": "Never"}},
		})
		return err
	})
	if err != nil {
		return res, fmt.Errorf("%w (kubectl -n %s logs ds/ferry-node-agent shows the agent's side)", err, NetworkNamespace)
	}
	p.Printf("  node agent release %s (revision %d)", res.Action, res.Revision)
	return res, nil
}
