//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// testFakeGPUs runs `ferry gpu fake-plugin` from the locally loaded ferry
// image as a DaemonSet: every node advertises nvidia.com/gpu, and a pod that
// asks for one is scheduled and told which device it got.
func testFakeGPUs(t *testing.T, c *cluster, image string) {
	ctx := context.Background()
	hostPathType := corev1.HostPathDirectory
	labels := map[string]string{"app": "ferry-fake-gpu"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ferry-fake-gpu", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					Containers: []corev1.Container{{
						Name: "plugin", Image: image, ImagePullPolicy: corev1.PullNever,
						Args:         []string{"gpu", "fake-plugin", "--count", "2"},
						VolumeMounts: []corev1.VolumeMount{{Name: "dp", MountPath: "/var/lib/kubelet/device-plugins"}},
					}},
					Volumes: []corev1.Volume{{Name: "dp", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
						Path: "/var/lib/kubelet/device-plugins", Type: &hostPathType}}}},
				},
			},
		},
	}
	if _, err := c.cs.AppsV1().DaemonSets("kube-system").Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = c.cs.AppsV1().DaemonSets("kube-system").Delete(context.Background(), ds.Name, metav1.DeleteOptions{})
	}()
	start := time.Now()
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		nodes, err := c.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, n := range nodes.Items {
			q := n.Status.Allocatable[corev1.ResourceName("nvidia.com/gpu")]
			if q.Value() != 2 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("nodes do not advertise 2 nvidia.com/gpu each: %v", err)
	}
	t.Logf("every node advertises 2 fake GPUs after %s", time.Since(start).Round(100*time.Millisecond))
	pod := busybox("gpu-user", "", "echo devices=$NVIDIA_VISIBLE_DEVICES", nil)
	gpu := corev1.ResourceList{corev1.ResourceName("nvidia.com/gpu"): resource.MustParse("1")}
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: gpu, Requests: gpu}
	c.runPod(t, pod, corev1.PodSucceeded)
	if logs := c.logs(t, "default", "gpu-user"); !strings.Contains(logs, "devices=fake-gpu-") {
		t.Fatalf("GPU pod output: %q", logs)
	}
	// Three GPUs fit nowhere (2 per node): the pod stays Pending, unschedulable.
	big := busybox("gpu-too-big", "", "true", nil)
	three := corev1.ResourceList{corev1.ResourceName("nvidia.com/gpu"): resource.MustParse("3")}
	big.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: three, Requests: three}
	if _, err := c.cs.CoreV1().Pods("default").Create(ctx, big, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.cs.CoreV1().Pods("default").Get(ctx, "gpu-too-big", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonUnschedulable && strings.Contains(cond.Message, "nvidia.com/gpu") {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("a pod asking for 3 GPUs was not reported unschedulable for nvidia.com/gpu: %v", err)
	}
}
