//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
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
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == 200, nil
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

func call(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// testTenantsBecomeNamespaces: creating a tenant through the API makes its
// namespace, quota, limit range, policies and service account; a deleted
// quota comes back; deleting the tenant removes the namespace.
func testTenantsBecomeNamespaces(t *testing.T, c *cluster) {
	url, admin := c.startServer(t)
	ctx := context.Background()
	if code := call(t, "POST", url+"/api/v1/tenants", admin, `{"name":"team-a","quota":{"cpu":"4","memory":"8Gi","gpu":1}}`); code != 201 {
		t.Fatalf("create tenant: %d", code)
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
	if code := call(t, "PATCH", url+"/api/v1/tenants/team-a", admin, `{"quota":{"gpu":3}}`); code != 200 {
		t.Fatalf("patch tenant: %d", code)
	}
	poll("a quota change reaches the cluster", 30*time.Second, func() bool {
		q, err := c.cs.CoreV1().ResourceQuotas(ns).Get(ctx, "ferry-quota", metav1.GetOptions{})
		return err == nil && q.Spec.Hard.Name("requests.nvidia.com/gpu", "").Value() == 3
	})
	if code := call(t, "DELETE", url+"/api/v1/tenants/team-a", admin, ""); code != 204 {
		t.Fatalf("delete tenant: %d", code)
	}
	poll("the namespace of a deleted tenant is gone", 2*time.Minute, func() bool {
		_, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}
