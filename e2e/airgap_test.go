//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/nodeimage"
)

// TestAirGapUpFromABundleWithAnEmptyEngine writes a bundle from the host
// engine, starts a Docker engine of its own with nothing in it (engine_test.go),
// and brings a platform up there from the bundle alone: nothing is pulled
// or built, and the host engine's images are left as they were.
func TestAirGapUpFromABundleWithAnEmptyEngine(t *testing.T) {
	dir := t.TempDir()
	b := filepath.Join(dir, "ferry.bundle")
	const userImage = "ferry-e2e/user:1"
	df := "FROM scratch\nCOPY ferry /ferry\nENTRYPOINT [\"/ferry\"]\n"
	if out, err := exec.Command("sh", "-c", "cp "+ferryBin+" "+dir+"/ferry && printf '"+df+"' > "+dir+"/Dockerfile && docker build -q -t "+userImage+" "+dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v %s", err, out)
	}
	start := time.Now()
	if _, err := ferry(t, 20*time.Minute, nil, "bundle", "create", "-o", b, "--without", "nvidia-device-plugin", "--without", "workload", "--image", userImage); err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE bundle create %s", time.Since(start).Round(100*time.Millisecond))
	out, err := ferry(t, 5*time.Minute, nil, "bundle", "inspect", b)
	if err != nil || !strings.Contains(out, nodeimage.Tag()) || !strings.Contains(out, userImage) || !strings.Contains(out, "ferry.local/ferry:") {
		t.Fatalf("inspect does not list the node, platform and user images: %v", err)
	}

	// From here on every docker command (the test's, ferry's, kind's) goes
	// to an engine of the test's own that starts with nothing in it; the
	// host engine and its images are not touched.
	hostEnv := append(os.Environ(), "DOCKER_HOST="+os.Getenv("DOCKER_HOST"))
	hostImages := func() []string {
		cmd := exec.Command("docker", "images", "-q", "--no-trunc")
		cmd.Env = hostEnv
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("the host engine's images: %v", err)
		}
		return strings.Fields(string(out))
	}
	before := hostImages()
	t.Cleanup(func() {
		cmd := exec.Command("docker", "rmi", userImage)
		cmd.Env = hostEnv
		_ = cmd.Run()
	})
	eng := startEngine(t)
	if imgs, err := eng.images(context.Background()); err != nil || imgs != "" {
		t.Fatalf("the air-gap engine is not empty: %v %s", err, imgs)
	}

	c := &cluster{name: "ferry-e2e-airgap", kubeconfig: filepath.Join(dir, "kubeconfig"), config: filepath.Join(dir, "ferry.yaml")}
	c.cleanupOnExit(t) // on failure: logs exported, kept with FERRY_E2E_KEEP=1
	start = time.Now()
	out, err = c.ferry(t, 20*time.Minute, "up", "--name", c.name, "--bundle", b, "--gpu", "off")
	if err != nil {
		t.Fatalf("up --bundle: %v", err)
	}
	t.Logf("FIGURE up --bundle with an empty engine %s", time.Since(start).Round(100*time.Millisecond))
	if strings.Contains(out, "build the platform image") || strings.Contains(out, "build node image") {
		t.Fatal("up --bundle built an image instead of taking it from the bundle")
	}
	cs, err := kind.Client(c.kubeconfig, kind.ContextName(c.name))
	if err != nil {
		t.Fatal(err)
	}
	c.cs = cs
	if out, err := c.ferry(t, time.Minute, "tenant", "create", "team-air", "-o", "json"); err != nil || !strings.Contains(out, `"name": "team-air"`) {
		t.Fatalf("create a tenant on the air-gapped platform: %v", err)
	}
	waitTenantObjects(t, c, "team-air")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "user-image"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "main", Image: userImage, ImagePullPolicy: corev1.PullNever, Args: []string{"version", "-o", "json"},
		}}},
	}
	c.runPod(t, pod, corev1.PodSucceeded)

	// Re-running converges: nothing to load, the release is unchanged.
	out, err = c.ferry(t, 5*time.Minute, "up", "--name", c.name, "--bundle", b, "--gpu", "off")
	if err != nil || !strings.Contains(out, "already on the nodes") || !strings.Contains(out, "platform release unchanged") {
		t.Fatalf("second up --bundle did not converge to a no-op: %v", err)
	}

	// A second cluster, addressed only by its kubeconfig, gets the bundle's
	// images through the seed agents (no registry, no engine access to them).
	r := upCluster(t, "ferry-e2e-seeded", 0)
	only := []string{"KUBECONFIG=" + filepath.Join(dir, "none"), "FERRY_CONFIG=" + r.config}
	start = time.Now()
	out, err = ferry(t, 15*time.Minute, only, "up", "--kubeconfig", r.kubeconfig, "--bundle", b, "--gpu", "off")
	if err != nil || !strings.Contains(out, "seed agent on every node") {
		t.Fatalf("up --kubeconfig --bundle: %v", err)
	}
	t.Logf("FIGURE remote up --bundle through the seed agents %s", time.Since(start).Round(100*time.Millisecond))
	seeded := pod.DeepCopy()
	seeded.ResourceVersion = ""
	r.runPod(t, seeded, corev1.PodSucceeded)
	if logs := r.logs(t, "default", seeded.Name); !strings.Contains(logs, `"goVersion"`) {
		t.Fatalf("the seeded user image ran but printed %q", logs)
	}

	// The host engine kept every image it had.
	have := map[string]bool{}
	for _, id := range hostImages() {
		have[id] = true
	}
	for _, id := range before {
		if !have[id] {
			t.Errorf("image %s is gone from the host engine", id)
		}
	}

	t.Run("with --registry the images are pushed to the site's registry and the platform runs from it", func(t *testing.T) {
		testRegistry(t, r, only, b, userImage)
	})
}

// testRegistry serves go-containerregistry's registry on the docker network's
// gateway (where the nodes reach the host), lets the nodes' containerd use it
// over plain HTTP, and installs the platform from it.
func testRegistry(t *testing.T, r *cluster, env []string, b, userImage string) {
	gw, err := exec.Command("docker", "network", "inspect", kind.Network, "-f", "{{(index .IPAM.Config 0).Gateway}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", strings.TrimSpace(string(gw))+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	host := ln.Addr().String()
	nodes, err := exec.Command("docker", "ps", "-q", "--filter", "label=io.x-k8s.kind.cluster="+r.name).Output()
	if err != nil {
		t.Fatal(err)
	}
	hosts := fmt.Sprintf("server = \"http://%s\"\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", host, host)
	for _, id := range strings.Fields(string(nodes)) {
		script := fmt.Sprintf("mkdir -p /etc/containerd/certs.d/%s && printf '%%s' '%s' > /etc/containerd/certs.d/%s/hosts.toml", host, hosts, host)
		if out, err := exec.Command("docker", "exec", id, "sh", "-c", script).CombinedOutput(); err != nil {
			t.Fatalf("configure node %s: %v %s", id, err, out)
		}
	}
	out, err := ferry(t, 10*time.Minute, env, "up", "--kubeconfig", r.kubeconfig, "--bundle", b, "--registry", host+"/site", "--gpu", "off")
	if err != nil || !strings.Contains(out, "platform release upgraded") {
		t.Fatalf("up --registry: %v", err)
	}
	pods, err := r.cs.CoreV1().Pods(platformNS).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=control-plane"})
	if err != nil || len(pods.Items) != 1 || !strings.HasPrefix(pods.Items[0].Spec.Containers[0].Image, host+"/site/ferry@sha256:") {
		t.Fatalf("the control plane does not run from the registry: %v %+v", err, pods.Items)
	}
	user := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "user-from-registry"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "main", Image: host + "/site/" + userImage, ImagePullPolicy: corev1.PullAlways, Args: []string{"version"},
		}}},
	}
	r.runPod(t, user, corev1.PodSucceeded)
}
