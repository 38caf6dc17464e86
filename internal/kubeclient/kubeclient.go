// Package kubeclient turns a kubeconfig file and a context into a client,
// the one way every part of ferry does it.
package kubeclient

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config loads a context of a kubeconfig file; an empty path follows
// $KUBECONFIG and ~/.kube/config, an empty context the current one.
func Config(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s, context %q: %w", describe(kubeconfig), context, err)
	}
	return cfg, nil
}

// New returns a clientset for a context of a kubeconfig file.
func New(kubeconfig, context string) (kubernetes.Interface, error) {
	cfg, err := Config(kubeconfig, context)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// CurrentContext names the context an empty context selects.
func CurrentContext(kubeconfig string) (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	}
	raw, err := rules.Load()
	if err != nil {
		return "", fmt.Errorf("kubeconfig %s: %w", describe(kubeconfig), err)
	}
	if raw.CurrentContext == "" {
		return "", fmt.Errorf("kubeconfig %s has no current context; name one with --context", describe(kubeconfig))
	}
	return raw.CurrentContext, nil
}

func describe(path string) string {
	if path == "" {
		return "($KUBECONFIG or ~/.kube/config)"
	}
	return path
}
