package kind

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func alreadyExists(err error) bool { return apierrors.IsAlreadyExists(err) }

// NodeStatus is one node as `ferry status` shows it.
type NodeStatus struct {
	Name    string `json:"name"`
	Ready   bool   `json:"ready"`
	Roles   string `json:"roles"`
	Version string `json:"version"`
}

// Status is the local cluster's state.
type Status struct {
	Name       string       `json:"name"`
	Exists     bool         `json:"exists"`
	Kubeconfig string       `json:"kubeconfig,omitempty"`
	Context    string       `json:"context,omitempty"`
	Nodes      []NodeStatus `json:"nodes,omitempty"`
	Error      string       `json:"error,omitempty"`
}

// GetStatus reports whether the cluster exists and how its nodes are.
func GetStatus(ctx context.Context, o Options) (Status, error) {
	if err := o.Validate(); err != nil {
		return Status{}, err
	}
	st := Status{Name: o.Name}
	exists, err := Exists(o.Name)
	if err != nil || !exists {
		return st, err
	}
	st.Exists, st.Kubeconfig, st.Context = true, o.Kubeconfig, ContextName(o.Name)
	cs, err := Client(o.Kubeconfig, st.Context)
	if err != nil {
		st.Error = err.Error()
		return st, nil
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		st.Error = err.Error()
		return st, nil
	}
	for _, n := range nodes.Items {
		var roles []string
		for l := range n.Labels {
			if r, ok := strings.CutPrefix(l, "node-role.kubernetes.io/"); ok {
				roles = append(roles, r)
			}
		}
		st.Nodes = append(st.Nodes, NodeStatus{Name: n.Name, Ready: nodeReady(n), Roles: strings.Join(roles, ","), Version: n.Status.NodeInfo.KubeletVersion})
	}
	return st, nil
}
