//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// testFakeGPUs checks what `ferry up --gpu fake:2` installed: every node
// advertises 2 nvidia.com/gpu; a pod that asks for one is told exactly one of
// its node's fake devices, one asking for two gets both, distinct, and a pod
// asking for none is told nothing (the variables come from the plugin's
// Allocate, not the image); one asking for 3 fits nowhere.
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
	for _, tc := range []struct {
		name string
		gpus int
	}{{"gpu-none", 0}, {"gpu-user", 1}, {"gpu-two", 2}} {
		got := allocatedGPUs(t, c, tc.name, tc.gpus)
		if len(got) != tc.gpus {
			t.Fatalf("pod %s asked for %d nvidia.com/gpu and was told %d devices: %q", tc.name, tc.gpus, len(got), got)
		}
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

// fakeDevice is an ID the fake plugin advertises with --gpu fake:2 (no time-slicing).
var fakeDevice = regexp.MustCompile(`^fake-gpu-[01]$`)

// allocatedGPUs runs a pod asking for n nvidia.com/gpu and returns the
// devices the fake plugin's Allocate told it (NVIDIA_VISIBLE_DEVICES, with
// FERRY_FAKE_GPU=1 beside it); it fails t unless they are n distinct fake
// devices, or, for n=0, unless neither variable is set.
func allocatedGPUs(t *testing.T, c *cluster, name string, n int) []string {
	t.Helper()
	pod := busybox(name, "", `echo "devices=[${NVIDIA_VISIBLE_DEVICES-unset}] fake=[${FERRY_FAKE_GPU-unset}]"`, nil)
	if n > 0 {
		q := corev1.ResourceList{corev1.ResourceName("nvidia.com/gpu"): *resource.NewQuantity(int64(n), resource.DecimalSI)}
		pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: q, Requests: q}
	}
	c.runPod(t, pod, corev1.PodSucceeded)
	logs := strings.TrimSpace(c.logs(t, "default", name))
	m := regexp.MustCompile(`^devices=\[(.*)\] fake=\[(.*)\]$`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("pod %s printed %q", name, logs)
	}
	if n == 0 {
		if m[1] != "unset" || m[2] != "unset" {
			t.Fatalf("pod %s asked for no GPU but was told devices %q, FERRY_FAKE_GPU %q", name, m[1], m[2])
		}
		return nil
	}
	if m[2] != "1" {
		t.Fatalf("pod %s: FERRY_FAKE_GPU=%q, want 1 (set by the fake plugin's Allocate)", name, m[2])
	}
	devices := strings.Split(m[1], ",")
	seen := map[string]bool{}
	for _, d := range devices {
		if !fakeDevice.MatchString(d) || seen[d] {
			t.Fatalf("pod %s was told devices %q: want %d distinct of fake-gpu-0, fake-gpu-1", name, m[1], n)
		}
		seen[d] = true
	}
	return devices
}
