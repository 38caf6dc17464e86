package platform

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

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
	pods, err := cs.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return st, fmt.Errorf("list pods in %s: %w", Namespace, err)
	}
	for _, p := range pods.Items {
		st.Pods = append(st.Pods, podStatus(p))
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
