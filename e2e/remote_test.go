//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-ml/ferry/bootstrap/kind"
)

// testRemote treats a second kind cluster as a remote one: ferry gets only
// its kubeconfig (no --name, an empty $KUBECONFIG), installs the platform,
// logs the CLI in, serves a tenant; then uninstall leaves nothing behind.
func testRemote(t *testing.T) {
	ctx := context.Background()
	r := upCluster(t, "ferry-e2e-remote", 0)
	dir := t.TempDir()
	only := []string{"KUBECONFIG=" + filepath.Join(dir, "none"), "FERRY_CONFIG=" + r.config}

	start := time.Now()
	out, err := ferry(t, 10*time.Minute, only, "up", "--kubeconfig", r.kubeconfig, "--gpu", "off")
	if err != nil {
		t.Fatalf("ferry up --kubeconfig: %v", err)
	}
	t.Logf("FIGURE remote up (platform only) %s", time.Since(start).Round(100*time.Millisecond))
	m := urlLine.FindStringSubmatch(out)
	if !strings.Contains(out, "platform release installed") || m == nil || m[3] != kind.ContextName(r.name) {
		t.Fatal("remote up did not install the platform and print its URL, token and context")
	}
	if out, err := ferry(t, time.Minute, only, "tenant", "create", "team-r", "-o", "json"); err != nil || !strings.Contains(out, `"name": "team-r"`) {
		t.Fatalf("create a tenant on the remote platform: %v", err)
	}
	waitTenantObjects(t, r, "team-r")
	if out, err := ferry(t, time.Minute, only, "status", "--kubeconfig", r.kubeconfig, "-o", "json"); err != nil || !strings.Contains(out, `"ferry-team-r"`) {
		t.Fatalf("remote status: %v", err)
	}

	if _, err := ferry(t, 5*time.Minute, only, "uninstall", "--kubeconfig", r.kubeconfig); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	nss, err := r.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Items {
		if ns.Labels["app.kubernetes.io/managed-by"] == "ferry" || strings.HasPrefix(ns.Name, "ferry-") {
			t.Errorf("namespace %s left behind", ns.Name)
		}
	}
	crs, err := r.cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=ferry"})
	if err != nil || len(crs.Items) > 0 {
		t.Errorf("cluster roles left behind: %v %d", err, len(crs.Items))
	}
	if _, err := r.cs.RbacV1().ClusterRoleBindings().Get(ctx, "ferry-ferry-system", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cluster role binding ferry-ferry-system left behind: %v", err)
	}
	// The node agent's release stays: it is this kind cluster's pod network.
	secrets, err := r.cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name!=ferry-network"})
	if err != nil || len(secrets.Items) > 0 {
		t.Errorf("helm release records left behind: %v %d", err, len(secrets.Items))
	}
	if ds, err := r.cs.AppsV1().DaemonSets("kube-system").Get(ctx, "ferry-node-agent", metav1.GetOptions{}); err != nil || ds.Status.NumberReady != 1 {
		t.Errorf("uninstall must leave the node agent (the pod network) running: %v", err)
	}
	if cfg, _ := os.ReadFile(r.config); strings.Contains(string(cfg), kind.ContextName(r.name)) {
		t.Errorf("the CLI context survived uninstall:\n%s", cfg)
	}
	if _, err := ferry(t, time.Minute, only, "status", "--kubeconfig", r.kubeconfig); err == nil {
		t.Error("status after uninstall reports success; want exit 4")
	}
	if _, err := r.ferry(t, 3*time.Minute, "down", "--name", r.name); err != nil {
		t.Fatal(err)
	}
}
