//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

// startServer runs `ferry server` on this host with Kubernetes access through
// the cluster's kubeconfig and returns its URL and admin token.
func (c *cluster) startServer(t *testing.T) (string, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	var logs bytes.Buffer
	cmd := exec.Command(ferryBin, "server", "--data-dir", dir, "--listen", addr, "--kube", c.kubeconfig, "--resync", "5s")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	url := "http://" + addr
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return client.New(url).Readyz(ctx) == nil, nil
	})
	if err != nil {
		t.Fatalf("server not ready: %s", logs.String())
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return url, strings.TrimSpace(string(tok))
}

// testTenantsBecomeNamespaces: creating a tenant through the API makes its
// namespace, quota, limit range, policies and service account; a deleted
// quota comes back; deleting the tenant removes the namespace.
func testTenantsBecomeNamespaces(t *testing.T, c *cluster) {
	url, admin := c.startServer(t)
	ctx := context.Background()
	api := client.New(url, client.WithToken(admin))
	gpus := int64(1)
	if _, err := api.CreateTenant(ctx, v1.TenantCreate{Name: "team-a", Quota: v1.QuotaChange{CPU: "4", Memory: "8Gi", GPU: &gpus}}); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	const ns = "ferry-team-a"
	poll := func(what string, timeout time.Duration, ok func() bool) {
		t.Helper()
		start := time.Now()
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return ok(), nil }); err != nil {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		t.Logf("%s after %s", what, time.Since(start).Round(10*time.Millisecond))
	}
	quotaExists := func() bool {
		q, err := c.cs.CoreV1().ResourceQuotas(ns).Get(ctx, "ferry-quota", metav1.GetOptions{})
		return err == nil && q.Spec.Hard.Name("requests.nvidia.com/gpu", "").Value() == 1
	}
	poll("namespace, quota and policies exist", 30*time.Second, func() bool {
		nps, err := c.cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
		_, saErr := c.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "ferry-workload", metav1.GetOptions{})
		_, lrErr := c.cs.CoreV1().LimitRanges(ns).Get(ctx, "ferry-defaults", metav1.GetOptions{})
		return err == nil && len(nps.Items) == 2 && saErr == nil && lrErr == nil && quotaExists()
	})
	if err := c.cs.CoreV1().ResourceQuotas(ns).Delete(ctx, "ferry-quota", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll("a deleted quota is repaired", 30*time.Second, quotaExists)
	gpus = 3
	if _, err := api.UpdateTenant(ctx, "team-a", v1.TenantUpdate{Quota: &v1.QuotaChange{GPU: &gpus}}); err != nil {
		t.Fatalf("patch tenant: %v", err)
	}
	poll("a quota change reaches the cluster", 30*time.Second, func() bool {
		q, err := c.cs.CoreV1().ResourceQuotas(ns).Get(ctx, "ferry-quota", metav1.GetOptions{})
		return err == nil && q.Spec.Hard.Name("requests.nvidia.com/gpu", "").Value() == 3
	})
	if err := api.DeleteTenant(ctx, "team-a"); err != nil {
		t.Fatalf("delete tenant: %v", err)
	}
	poll("the namespace of a deleted tenant is gone", 2*time.Minute, func() bool {
		_, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}
