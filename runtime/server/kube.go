package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/internal/kubeclient"
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
		cfg, err = kubeclient.Config(kube, context)
	}
	if err != nil {
		return nil, fmt.Errorf("server: Kubernetes access (--kube %s): %w", kube, err)
	}
	return kubernetes.NewForConfig(cfg)
}

// podNamespace is the namespace this pod runs in, or "" outside a pod.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// publishToken copies a token file of the data directory into a Secret and
// keeps retrying until it succeeds or ctx ends: the token exists only in the
// data directory, and the Secret is how a cluster admin (or a pod) reads it.
func (s *Server) publishToken(ctx context.Context, file, secret string) {
	log := s.opts.Logger.With("secret", s.opts.AdminTokenNamespace+"/"+secret)
	backoff := time.Second
	for {
		err := s.writeTokenSecret(ctx, file, secret)
		if err == nil {
			log.Info("token published")
			return
		}
		log.Warn("cannot publish the token yet", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (s *Server) writeTokenSecret(ctx context.Context, file, name string) error {
	b, err := os.ReadFile(filepath.Join(s.opts.DataDir, file))
	if errors.Is(err, os.ErrNotExist) {
		// Removed by the operator after reading it: nothing to publish.
		return nil
	}
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(b))
	secrets := s.kube.CoreV1().Secrets(s.opts.AdminTokenNamespace)
	cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "ferry"}},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{v1.AdminTokenKey: []byte(token)},
		}
		_, err = secrets.Create(ctx, sec, metav1.CreateOptions{})
		return err
	case err != nil:
		return err
	case string(cur.Data[v1.AdminTokenKey]) == token:
		return nil
	}
	cur.Data = map[string][]byte{v1.AdminTokenKey: []byte(token)}
	_, err = secrets.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}
