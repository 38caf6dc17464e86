package kind

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/bootstrap/nodeimage"
	"github.com/ferry-ml/ferry/internal/kubeclient"
)

// Client returns a clientset for a kubeconfig context.
func Client(kubeconfig, context string) (kubernetes.Interface, error) {
	return kubeclient.New(kubeconfig, context)
}

func waitNodesReady(ctx context.Context, kubeconfig, kctx string, timeout time.Duration) error {
	cs, err := Client(kubeconfig, kctx)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() == nil { // the last poll's deadline says nothing about the nodes
				last = err.Error()
			}
			return false, nil
		}
		if len(nodes.Items) == 0 {
			last = "no nodes registered"
			return false, nil
		}
		for _, n := range nodes.Items {
			if !nodeReady(n) {
				last = "node " + n.Name + " not Ready"
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Message != "" {
						last += ": " + c.Message
					}
				}
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("nodes not Ready after %s: %s", timeout, last)
	}
	return nil
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// smokeTest runs one pod that resolves a Service name through CoreDNS and
// writes to a PVC from the default StorageClass; it deletes both afterwards.
func smokeTest(ctx context.Context, kubeconfig, kctx string, timeout time.Duration) (err error) {
	cs, err := Client(kubeconfig, kctx)
	if err != nil {
		return err
	}
	const ns, name = "default", "ferry-smoke"
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "ferry"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}},
		},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "ferry"}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Tolerations:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name: "smoke", Image: nodeimage.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command:      []string{"sh", "-c", "i=0; until nslookup kubernetes.default.svc.cluster.local; do i=$((i+1)); [ $i -ge 90 ] && exit 1; sleep 1; done; echo ok > /data/ok && cat /data/ok"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}}},
		},
	}
	cleanup := func() {
		bg := context.WithoutCancel(ctx)
		zero := int64(0)
		_ = cs.CoreV1().Pods(ns).Delete(bg, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		_ = cs.CoreV1().PersistentVolumeClaims(ns).Delete(bg, name, metav1.DeleteOptions{})
	}
	cleanup()
	defer cleanup()
	// The default service account appears shortly after the namespace controller starts.
	var last string
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil && !alreadyExists(err) {
			last = err.Error()
			return false, nil
		}
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !alreadyExists(err) {
			last = err.Error()
			return false, nil
		}
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			return true, nil
		case corev1.PodFailed:
			return false, fmt.Errorf("smoke pod failed: %s", podMessage(p))
		}
		last = "smoke pod " + string(p.Status.Phase) + " " + podMessage(p)
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("cluster smoke test (DNS + PVC) did not pass within %s: %v (last: %s)", timeout, err, last)
	}
	claim, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if claim.Status.Phase != corev1.ClaimBound {
		return fmt.Errorf("PVC %s is %s, not Bound", name, claim.Status.Phase)
	}
	return nil
}

func podMessage(p *corev1.Pod) string {
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Waiting != nil {
			return s.State.Waiting.Reason + " " + s.State.Waiting.Message
		}
		if s.State.Terminated != nil {
			return fmt.Sprintf("exit %d %s", s.State.Terminated.ExitCode, s.State.Terminated.Message)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			return c.Message
		}
	}
	return ""
}
