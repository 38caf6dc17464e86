package platform

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ferry-ml/ferry/bootstrap/install"
	"github.com/ferry-ml/ferry/internal/progress"
)

// Uninstall removes everything ferry put on the target: the gpu and
// platform releases (the control plane first, so it stops reconciling),
// then every namespace ferry labelled (tenants and ferry-system, with the
// data volume and the admin token), waiting until they are gone.
func Uninstall(ctx context.Context, t Target, timeout time.Duration, p *progress.Printer) error {
	if err := t.resolve(); err != nil {
		return err
	}
	cs, err := t.Client()
	if err != nil {
		return err
	}
	helm := install.Options{Kubeconfig: t.Kubeconfig, Context: t.Context, Namespace: Namespace, Timeout: timeout}
	for _, rel := range []struct{ release, chart string }{{GPURelease, "gpu"}, {PlatformRelease, "platform"}} {
		err := p.Step("uninstall release "+rel.release, func() error {
			h := helm
			h.Release, h.Chart = rel.release, rel.chart
			return install.Uninstall(ctx, h)
		})
		if err != nil {
			return err
		}
	}
	sel := labels.SelectorFromSet(ManagedBy).String()
	return p.Step("delete ferry's namespaces (tenants, "+Namespace+")", func() error {
		nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return fmt.Errorf("list namespaces: %w", err)
		}
		var names []string
		for _, ns := range nss.Items {
			names = append(names, ns.Name)
			if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete namespace %s: %w", ns.Name, err)
			}
		}
		var left []string
		err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
			left = left[:0]
			for _, n := range names {
				if _, err := cs.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					left = append(left, n)
				}
			}
			return len(left) == 0, nil
		})
		if err != nil {
			return fmt.Errorf("namespaces still terminating after %s: %s", timeout, strings.Join(left, ", "))
		}
		p.Printf("  deleted %d namespace(s): %s", len(names), orNone(names))
		return nil
	})
}
