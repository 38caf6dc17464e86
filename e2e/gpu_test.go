//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// testFakeGPUs checks what `ferry up --gpu fake:2` installed: every node
// advertises 2 nvidia.com/gpu, a pod that asks for one is scheduled and
// told which device it got, and one asking for 3 fits nowhere.
func testFakeGPUs(t *testing.T, c *cluster) {
	ctx := context.Background()
	nodes, err := c.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if q := n.Status.Allocatable[corev1.ResourceName("nvidia.com/gpu")]; q.Value() != 2 {
			t.Fatalf("node %s advertises %s nvidia.com/gpu, want 2", n.Name, q.String())
		}
	}
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
