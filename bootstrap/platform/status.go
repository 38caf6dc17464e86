package platform

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/bootstrap/install"
)

// PodStatus is one platform pod as `ferry status` shows it.
type PodStatus struct {
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Ready    string `json:"ready"`
	Restarts int32  `json:"restarts"`
	Node     string `json:"node"`
	Image    string `json:"image"`
}

// Status is the platform's state on a target.
type Status struct {
	Context  string            `json:"context"`
	Releases []install.Release `json:"releases"`
	Pods     []PodStatus       `json:"pods"`
	Tenants  []string          `json:"tenantNamespaces"`
	GPUNodes []NodeGPUs        `json:"gpuNodes"`
	// NetworkProblems are the NetworkPolicies the node agents reported
	// they cannot enforce (and therefore enforce as allowing nothing).
	NetworkProblems []NetworkProblem `json:"networkProblems"`
}

// NetworkProblem is a policy a node agent cannot enforce.
type NetworkProblem struct {
	Policy  string `json:"policy"`
	Node    string `json:"node"`
	Message string `json:"message"`
}

// Installed says whether the platform release exists.
func (s Status) Installed() bool {
	return slices.ContainsFunc(s.Releases, func(r install.Release) bool { return r.Name == PlatformRelease })
}

// GetStatus reads the releases, the platform's pods and the GPU nodes.
func GetStatus(ctx context.Context, t Target) (Status, error) {
	if err := t.resolve(); err != nil {
		return Status{}, err
	}
	st := Status{Context: t.Context}
	cs, err := t.Client()
	if err != nil {
		return st, err
	}
	st.Releases, err = install.List(install.Options{Kubeconfig: t.Kubeconfig, Context: t.Context, Namespace: Namespace})
	if err != nil {
		return st, err
	}
	network, err := install.List(install.Options{Kubeconfig: t.Kubeconfig, Context: t.Context, Namespace: NetworkNamespace})
	if err != nil {
		return st, err
	}
	for _, r := range network {
		if r.Name == NetworkRelease {
			st.Releases = append(st.Releases, r)
		}
	}
	pods, err := cs.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return st, fmt.Errorf("list pods in %s: %w", Namespace, err)
	}
	agents, err := cs.CoreV1().Pods(NetworkNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=ferry-node-agent"})
	if err != nil {
		return st, fmt.Errorf("list node agents in %s: %w", NetworkNamespace, err)
	}
	for _, p := range append(pods.Items, agents.Items...) {
		st.Pods = append(st.Pods, podStatus(p))
	}
	if st.NetworkProblems, err = networkProblems(ctx, cs); err != nil {
		return st, err
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(ManagedBy).String()})
	if err != nil {
		return st, fmt.Errorf("list namespaces: %w", err)
	}
	for _, ns := range nss.Items {
		if ns.Name != Namespace {
			st.Tenants = append(st.Tenants, ns.Name)
		}
	}
	st.GPUNodes, err = GPUNodes(ctx, cs)
	return st, err
}

// networkProblems reads the node agents' NotEnforced events, one per
// policy, node and message.
func networkProblems(ctx context.Context, cs kubernetes.Interface) ([]NetworkProblem, error) {
	evs, err := cs.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "reason=NotEnforced,involvedObject.kind=NetworkPolicy"})
	if err != nil {
		return nil, fmt.Errorf("list NotEnforced events: %w", err)
	}
	out := []NetworkProblem{}
	for _, e := range evs.Items {
		if e.Reason != "NotEnforced" || e.InvolvedObject.Kind != "NetworkPolicy" {
			continue // an API server that ignores the field selector
		}
		p := NetworkProblem{Policy: e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name, Node: e.Source.Host, Message: e.Message}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b NetworkProblem) int { return strings.Compare(a.Policy+a.Node, b.Policy+b.Node) })
	return out, nil
}

func podStatus(p corev1.Pod) PodStatus {
	ready, restarts := 0, int32(0)
	for _, c := range p.Status.ContainerStatuses {
		if c.Ready {
			ready++
		}
		restarts += c.RestartCount
	}
	var images []string
	for _, c := range p.Spec.Containers {
		images = append(images, c.Image)
	}
	return PodStatus{Name: p.Name, Phase: string(p.Status.Phase), Ready: fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers)),
		Restarts: restarts, Node: p.Spec.NodeName, Image: strings.Join(images, ",")}
}
