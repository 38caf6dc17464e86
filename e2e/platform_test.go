//go:build e2e

package e2e

import (
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
)

const platformNS = "ferry-system"

// platformCall runs one HTTP call against the in-cluster control plane from
// a busybox pod (by Service IP: busybox's wget mishandles some FQDNs).
func (c *cluster) platformCall(t *testing.T, pod, token, method, path, body string) string {
	t.Helper()
	svc, err := c.cs.CoreV1().Services(platformNS).Get(context.Background(), "ferry", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := fmt.Sprintf("--header 'Authorization: Bearer %s'", token)
	if method == "POST" {
		args += fmt.Sprintf(" --header 'Content-Type: application/json' --post-data '%s'", body)
	}
	script := fmt.Sprintf("wget -qO- %s http://%s:8080%s; echo; echo exit=$?", args, svc.Spec.ClusterIP, path)
	c.runPod(t, busybox(pod, "", script, nil), corev1.PodSucceeded)
	return c.logs(t, "default", pod)
}

// adminToken reads admin.token from the platform's volume with a pod on the same node.
func (c *cluster) adminToken(t *testing.T, pod string) string {
	t.Helper()
	ctx := context.Background()
	pods, err := c.cs.CoreV1().Pods(platformNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=control-plane"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no control-plane pod: %v", err)
	}
	p := busybox(pod, pods.Items[0].Spec.NodeName, "cat /data/admin.token", nil)
	p.Namespace = platformNS
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "ferry-data", ReadOnly: true}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: true}}
	c.runPod(t, p, corev1.PodSucceeded)
	return strings.TrimSpace(c.logs(t, platformNS, pod))
}

// testPlatform installs the control plane with `ferry up --platform`, checks
// that it reconciles a tenant from inside the cluster, that a re-up is a fast
// no-op, and that an upgrade to a rebuilt binary keeps the data.
func testPlatform(t *testing.T, c *cluster) {
	ctx := context.Background()
	up := func(bin string) string {
		t.Helper()
		out, err := exec.Command(bin, "up", "--name", c.name, "--workers", "1", "--kubeconfig", c.kubeconfig, "--platform").CombinedOutput()
		t.Logf("%s up --platform:\n%s", filepath.Base(bin), out)
		if err != nil {
			t.Fatalf("ferry up --platform: %v", err)
		}
		return string(out)
	}
	if out := up(ferryBin); !strings.Contains(out, "platform release installed") {
		t.Fatalf("first up --platform did not install the release")
	}
	dep, err := c.cs.AppsV1().Deployments(platformNS).Get(ctx, "ferry", metav1.GetOptions{})
	if err != nil || dep.Status.AvailableReplicas != 1 {
		t.Fatalf("platform deployment not available: %v %+v", err, dep.Status)
	}
	token := c.adminToken(t, "read-token-1")
	if !strings.HasPrefix(token, "ferry_") {
		t.Fatalf("admin token from the volume: %q", token)
	}
	out := c.platformCall(t, "create-tenant", token, "POST", "/api/v1/tenants", `{"name":"team-p","quota":{"gpu":1}}`)
	if !strings.Contains(out, `"name":"team-p"`) {
		t.Fatalf("create tenant through the in-cluster API: %s", out)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.cs.CoreV1().ResourceQuotas("ferry-team-p").Get(ctx, "ferry-quota", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatal("the in-cluster control plane did not create the tenant's namespace and quota (RBAC?)")
	}

	start := time.Now()
	if out := up(ferryBin); !strings.Contains(out, "platform release unchanged") {
		t.Fatal("second up --platform was not a no-op")
	}
	t.Logf("re-up with nothing changed: %s", time.Since(start).Round(10*time.Millisecond))

	// A rebuilt binary (another version) upgrades the release; the data stays.
	rebuilt := filepath.Join(t.TempDir(), "ferry")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X github.com/ferry-ml/ferry/internal/version.Version=e2e-upgrade", "-o", rebuilt, "../cmd/ferry")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("rebuild: %v %s", err, b)
	}
	if out := up(rebuilt); !strings.Contains(out, "platform release upgraded") {
		t.Fatal("up with a rebuilt binary did not upgrade the release")
	}
	out = c.platformCall(t, "get-tenant", token, "GET", "/api/v1/tenants/team-p", "")
	if !strings.Contains(out, `"name":"team-p"`) {
		t.Fatalf("tenant lost across the upgrade: %s", out)
	}
}
