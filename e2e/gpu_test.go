//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ferry-ml/ferry/bootstrap/kind"
)

// testFakeGPUs checks what `ferry up --gpu fake:2` gave a local cluster: the
// fake CDI vendor's spec in each node, containerd 2 injecting it, and ferry's
// plugin allocating CDI devices. Every node advertises 2 nvidia.com/gpu; a
// pod that asks for one gets exactly one device (its node, its mounted file
// and its variable, all naming the same device), one asking for two gets
// both, two pods at once on one node get different ones, a pod asking for
// none gets nothing of the vendor's, and one asking for 3 fits nowhere.
func testFakeGPUs(t *testing.T, c *cluster) {
	ctx := context.Background()
	nodes, err := c.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dir, err := kind.GPUDir(c.name); err != nil {
		t.Fatal(err)
	} else if _, err := os.Stat(filepath.Join(dir, "node-0", "cdi", "ferry-fake-gpu.json")); err != nil {
		t.Fatalf("the fake vendor's spec for the control plane: %v", err)
	}
	for _, n := range nodes.Items {
		if q := n.Status.Allocatable[corev1.ResourceName("nvidia.com/gpu")]; q.Value() != 2 {
			t.Fatalf("node %s advertises %s nvidia.com/gpu, want 2", n.Name, q.String())
		}
		if v := n.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(v, "containerd://2.") {
			t.Fatalf("node %s runs %s; CDI needs the containerd 2 of ferry's node image", n.Name, v)
		}
	}
	for _, tc := range []struct {
		name string
		gpus int
	}{{"gpu-none", 0}, {"gpu-user", 1}, {"gpu-two", 2}} {
		runGPUPod(t, c, tc.name, "", tc.gpus, 0)
		gpuPodDevices(t, c, tc.name, tc.gpus)
	}
	// Isolation: two pods on one node at once get one device each, not the
	// same one; both still run when the second has printed what it got.
	node := nodes.Items[0].Name
	runGPUPod(t, c, "gpu-a", node, 1, 120)
	runGPUPod(t, c, "gpu-b", node, 1, 120)
	a, b := gpuPodDevices(t, c, "gpu-a", 1), gpuPodDevices(t, c, "gpu-b", 1)
	for _, name := range []string{"gpu-a", "gpu-b"} {
		if p, err := c.cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); err != nil || p.Status.Phase != corev1.PodRunning {
			t.Fatalf("pod %s is not running beside the other (%v): the isolation check proves nothing", name, err)
		}
	}
	if a[0] == b[0] {
		t.Fatalf("two pods running at once on %s were both handed device %s", node, a[0])
	}
	c.deletePod(t, "gpu-a")
	c.deletePod(t, "gpu-b")
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

// gpuScript prints what of the fake vendor a container has: its variables,
// its device nodes (character devices only) and its mounted files.
const gpuScript = `echo "fake=${FERRY_FAKE_GPU-unset}"
env | grep '^FERRY_GPU_' | sort | sed 's/^/env /'
for d in /dev/ferry-gpu*; do [ -c "$d" ] && echo "dev $d"; done
for f in /run/ferry-gpu/*; do [ -f "$f" ] && echo "file $f $(cat "$f")"; done
sleep %d`

// runGPUPod creates a pod asking for n nvidia.com/gpu (on node, when named:
// through the scheduler) that holds its devices for hold seconds; with
// hold 0 it waits for the pod to succeed.
func runGPUPod(t *testing.T, c *cluster, name, node string, n, hold int) {
	t.Helper()
	pod := busybox(name, "", fmt.Sprintf(gpuScript, hold), nil)
	if node != "" {
		pod.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": node}
	}
	if n > 0 {
		q := corev1.ResourceList{corev1.ResourceName("nvidia.com/gpu"): *resource.NewQuantity(int64(n), resource.DecimalSI)}
		pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: q, Requests: q}
	}
	if hold == 0 {
		c.runPod(t, pod, corev1.PodSucceeded)
		return
	}
	pod.Namespace = "default"
	if _, err := c.cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
}

var (
	gpuEnvLine  = regexp.MustCompile(`^env FERRY_GPU_(\d+)=(\S+)$`)
	gpuDevLine  = regexp.MustCompile(`^dev /dev/ferry-gpu(\d+)$`)
	gpuFileLine = regexp.MustCompile(`^file /run/ferry-gpu/gpu(\d+) (\S+)$`)
)

// gpuPodDevices waits for pod name to print what it has, and returns its
// devices' IDs. It fails t unless each device came whole (variable, device
// node and file, naming the same ID), and FERRY_FAKE_GPU (the spec's shared
// edit) is set exactly when a device was.
func gpuPodDevices(t *testing.T, c *cluster, name string, n int) []string {
	t.Helper()
	var logs string
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		logs = c.logs(t, "default", name)
		return strings.HasPrefix(logs, "fake="), nil
	})
	if err != nil {
		t.Fatalf("pod %s printed nothing in 3 minutes: %q", name, logs)
	}
	time.Sleep(time.Second) // the rest of a short script's lines
	logs = c.logs(t, "default", name)
	env, devs, files := map[string]string{}, map[string]bool{}, map[string]string{}
	fake := ""
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if m := gpuEnvLine.FindStringSubmatch(line); m != nil {
			env[m[1]] = m[2]
		} else if m := gpuDevLine.FindStringSubmatch(line); m != nil {
			devs[m[1]] = true
		} else if m := gpuFileLine.FindStringSubmatch(line); m != nil {
			files[m[1]] = m[2]
		} else if v, ok := strings.CutPrefix(line, "fake="); ok {
			fake = v
		} else {
			t.Fatalf("pod %s printed %q", name, line)
		}
	}
	var ids []string
	for k, id := range env {
		if !devs[k] || files[k] != id {
			t.Fatalf("pod %s has FERRY_GPU_%s=%s, but device node %v and file %q: a device must come whole\n%s", name, k, id, devs[k], files[k], logs)
		}
		ids = append(ids, id)
	}
	if len(devs) != len(env) || len(files) != len(env) || len(env) != n {
		t.Fatalf("pod %s asked for %d GPU(s) and has %d variables, %d device nodes, %d files of the fake vendor:\n%s", name, n, len(env), len(devs), len(files), logs)
	}
	if want := map[bool]string{true: "1", false: "unset"}[n > 0]; fake != want {
		t.Fatalf("pod %s asked for %d GPU(s): FERRY_FAKE_GPU=%s, want %s", name, n, fake, want)
	}
	return ids
}
