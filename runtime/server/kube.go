package server

import (
	"fmt"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeClient resolves Options.Kube: "off" or "" means none, "auto" means
// in-cluster when running in a pod, anything else is a kubeconfig path.
func kubeClient(kube, context string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	switch kube {
	case "", "off":
		return nil, nil
	case "auto":
		if os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
			return nil, nil
		}
		cfg, err = rest.InClusterConfig()
	default:
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: kube},
			&clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("server: Kubernetes access (--kube %s): %w", kube, err)
	}
	return kubernetes.NewForConfig(cfg)
}
