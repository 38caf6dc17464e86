//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/nodeimage"
)

var ferryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		panic(err)
	}
	ferryBin = os.Getenv("FERRY_BIN")
	if ferryBin == "" {
		ferryBin = filepath.Join(dir, "ferry")
		build := exec.Command("go", "build", "-trimpath", "-o", ferryBin, "../cmd/ferry")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build ferry: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ferry runs the binary with extra environment (KEY=VALUE) and returns its
// combined output.
func ferry(t *testing.T, timeout time.Duration, env []string, args ...string) (string, error) {
	return ferryBinary(t, ferryBin, timeout, env, args...)
}

func ferryBinary(t *testing.T, bin string, timeout time.Duration, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("ferry %s (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), out.String())
	return out.String(), err
}

// cluster is one kind cluster made by `ferry up` for a test, with its own
// kubeconfig file and ferry client config.
type cluster struct {
	name, kubeconfig, config string
	cs                       kubernetes.Interface
}

// env points kubectl-style tools and the ferry CLI at this cluster's files only.
func (c *cluster) env() []string {
	return []string{"KUBECONFIG=" + c.kubeconfig, "FERRY_CONFIG=" + c.config}
}

// ferry runs the binary against this cluster's kubeconfig and client config.
func (c *cluster) ferry(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	return ferry(t, timeout, c.env(), args...)
}

// upCluster runs `ferry up` for t and registers the cluster's cleanup on t
// (see cleanupOnExit); extra are more flags of that up (such as --gpu, which
// shapes the nodes when they are made).
func upCluster(t *testing.T, name string, workers int, extra ...string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{name: name, kubeconfig: filepath.Join(dir, "kubeconfig"), config: filepath.Join(dir, "ferry.yaml")}
	c.cleanupOnExit(t)
	if _, err := c.ferry(t, 60*time.Minute, append([]string{"up", "--name", name, "--workers", fmt.Sprint(workers), "--platform=false"}, extra...)...); err != nil {
		t.Fatalf("ferry up: %v", err)
	}
	cs, err := kind.Client(c.kubeconfig, kind.ContextName(name))
	if err != nil {
		t.Fatal(err)
	}
	c.cs = cs
	return c
}

// cleanupOnExit registers on t, the test that owns the cluster, what happens
// once t and all its subtests are done: if any of them failed, the logs go
// to e2e/artifacts/<test>/<cluster> and the cluster is kept when
// FERRY_E2E_KEEP=1; otherwise `ferry down`. (A cleanup registered on t runs
// after t's subtests, and t.Failed() includes theirs.)
func (c *cluster) cleanupOnExit(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			c.exportLogs(t)
			if keepFailed() {
				t.Logf("keeping cluster %s (FERRY_E2E_KEEP=1): KUBECONFIG=%s; ferry down --name %s", c.name, c.kubeconfig, c.name)
				return
			}
		}
		_, _ = c.ferry(t, 3*time.Minute, "down", "--name", c.name)
	})
}

// keepFailed reports whether a failed test's clusters stay (FERRY_E2E_KEEP=1).
func keepFailed() bool { return os.Getenv("FERRY_E2E_KEEP") == "1" }

// exportLogs writes the cluster's logs with `ferry export logs` (kind's
// export, control-plane and node-agent pod logs, events) to
// e2e/artifacts/<test>/<cluster>; if that fails before kind's export ran,
// kind's export alone.
func (c *cluster) exportLogs(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("artifacts", t.Name(), c.name))
	if err != nil {
		t.Logf("export logs: %v", err)
		return
	}
	if _, err := c.ferry(t, 5*time.Minute, "export", "logs", dir, "--name", c.name); err != nil {
		t.Logf("ferry export logs: %v", err)
		if _, statErr := os.Stat(filepath.Join(dir, "kind")); statErr != nil {
			if err := kind.ExportLogs(c.name, filepath.Join(dir, "kind")); err != nil {
				t.Logf("kind export logs: %v", err)
			}
		}
	}
	t.Logf("cluster %s logs exported to %s", c.name, dir)
}

// runPod creates a pod and waits for it to reach phase (Running or Succeeded).
func (c *cluster) runPod(t *testing.T, pod *corev1.Pod, phase corev1.PodPhase) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	if _, err := c.cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	var got *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		got = p
		if p.Status.Phase == corev1.PodFailed && phase != corev1.PodFailed {
			return false, fmt.Errorf("pod failed")
		}
		if phase == corev1.PodRunning && p.Status.Phase == corev1.PodRunning {
			for _, cs := range p.Status.ContainerStatuses {
				if !cs.Ready {
					return false, nil
				}
			}
			return true, nil
		}
		return p.Status.Phase == phase, nil
	})
	if err != nil {
		t.Fatalf("pod %s did not reach %s: %v; status %+v; logs: %s", pod.Name, phase, err, got.Status, c.logs(t, pod.Namespace, pod.Name))
	}
	return got
}

func (c *cluster) logs(t *testing.T, ns, name string) string {
	b, err := c.cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	return string(b)
}

func (c *cluster) deletePod(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	zero := int64(0)
	_ = c.cs.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		return err != nil, nil
	})
	if err != nil {
		t.Fatalf("pod %s not deleted: %v", name, err)
	}
}

// busybox is a pod spec running sh -c script in ferry's busybox image.
func busybox(name, node, script string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:      node,
			RestartPolicy: corev1.RestartPolicyNever,
			Tolerations:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name: "main", Image: nodeimage.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", script},
			}},
		},
	}
}
