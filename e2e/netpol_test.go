//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// probe is a pod that tries a URL five times a second and logs "open" or
// "closed" for each try, so a test can watch a path change.
func probe(name, ns, node, url string) *corev1.Pod {
	p := busybox(name, node, "while true; do if timeout 1 wget -qO- "+url+" >/dev/null 2>&1; then echo open; else echo closed; fi; sleep 0.2; done", nil)
	p.Namespace = ns
	return p
}

// lastProbe is the last verdict a probe pod logged.
func (c *cluster) lastProbe(t *testing.T, ns, name string) string {
	lines := strings.Fields(c.logs(t, ns, name))
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// waitProbe waits until the probe's last verdict is want and returns how long that took.
func (c *cluster) waitProbe(t *testing.T, ns, name, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return c.lastProbe(t, ns, name) == want, nil
	})
	if err != nil {
		t.Fatalf("probe %s/%s did not turn %s within %s; last: %q", ns, name, want, timeout, c.lastProbe(t, ns, name))
	}
	return time.Since(start)
}

// testTenantIsolation checks that the tenants' policies are enforced by the
// node agent: a pod of tenant team-q cannot open a connection to a pod of
// team-p (on another node or the same), pods inside team-p talk, a pod of
// the control plane's namespace reaches both; with the control plane
// stopped (so it does not repair them), deleting the two tenants' policies
// opens the path within seconds, and the control plane, started again,
// restores them and closes it.
func testTenantIsolation(t *testing.T, c *cluster, cp, worker string) {
	ctx := context.Background()
	if out, err := c.ferry(t, time.Minute, "tenant", "create", "team-q"); err != nil {
		t.Fatalf("create tenant team-q: %v\n%s", err, out)
	}
	waitTenantObjects(t, c, "team-q")
	const a, b = "ferry-team-p", "ferry-team-q"
	server := busybox("web", worker, httpServer, map[string]string{"app": "web"})
	server.Namespace = a
	srv := c.runPod(t, server, corev1.PodRunning)
	url := "http://" + srv.Status.PodIP + ":8080/"

	for _, p := range []*corev1.Pod{probe("same-tenant", a, cp, url), probe("other-tenant", b, cp, url), probe("other-tenant-same-node", b, worker, url), probe("control-plane", platformNS, cp, url)} {
		c.runPod(t, p, corev1.PodRunning)
	}
	time.Sleep(3 * time.Second) // a dozen probes each
	for pod, want := range map[string]string{a + "/same-tenant": "open", b + "/other-tenant": "closed", b + "/other-tenant-same-node": "closed", platformNS + "/control-plane": "open"} {
		ns, name, _ := strings.Cut(pod, "/")
		logs := strings.Fields(c.logs(t, ns, name))
		if len(logs) < 5 {
			t.Fatalf("probe %s logged %d verdicts", pod, len(logs))
		}
		for i, v := range logs[2:] { // the first tries may precede the ruleset
			if v != want {
				t.Errorf("probe %s: try %d was %s, want %s (%v)", pod, i+2, v, want, logs)
				break
			}
		}
	}

	scale := func(n int32) {
		t.Helper()
		s, err := c.cs.AppsV1().Deployments(platformNS).GetScale(ctx, "ferry", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Spec.Replicas = n
		if _, err := c.cs.AppsV1().Deployments(platformNS).UpdateScale(ctx, "ferry", s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			d, err := c.cs.AppsV1().Deployments(platformNS).Get(ctx, "ferry", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			pods, err := c.cs.CoreV1().Pods(platformNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=control-plane"})
			return err == nil && len(pods.Items) == int(n) && ready(d, n), nil
		})
		if err != nil {
			t.Fatalf("control plane not scaled to %d", n)
		}
	}
	scale(0)
	start := time.Now()
	for _, ns := range []string{a, b} {
		for _, name := range []string{"ferry-default-deny", "ferry-allow-same-tenant"} {
			if err := c.cs.NetworkingV1().NetworkPolicies(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.waitProbe(t, b, "other-tenant", "open", 30*time.Second)
	opened := time.Since(start)
	t.Logf("FIGURE tenant policies deleted → cross-tenant path open: %s", opened.Round(10*time.Millisecond))
	if opened > 10*time.Second {
		t.Errorf("the path opened %s after the policies went, want within 10s", opened)
	}
	scale(1)
	waitTenantObjects(t, c, "team-p")
	waitTenantObjects(t, c, "team-q")
	closed := c.waitProbe(t, b, "other-tenant", "closed", 30*time.Second)
	t.Logf("FIGURE control plane back → tenant policies restored and path closed: %s", closed.Round(10*time.Millisecond))
	if last := c.lastProbe(t, a, "same-tenant"); last != "open" {
		t.Errorf("same-tenant probe after the repair: %s", last)
	}
	for _, p := range []struct{ ns, name string }{{a, "web"}, {a, "same-tenant"}, {b, "other-tenant"}, {b, "other-tenant-same-node"}, {platformNS, "control-plane"}} {
		_ = c.cs.CoreV1().Pods(p.ns).Delete(ctx, p.name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	}
}

func ready(d *appsv1.Deployment, n int32) bool {
	return d.Status.ReadyReplicas == n && d.Status.Replicas == n
}

// testNotEnforcedIsReported checks fail-closed reporting: a policy with an IPv6 ipBlock
// (not enforced on these IPv4 clusters) gets a NotEnforced event and shows
// in `ferry status`.
func testNotEnforcedIsReported(t *testing.T, c *cluster) {
	ctx := context.Background()
	pol := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "v6-only", Namespace: "default"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "nothing"}},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "fd00::/64"}}}}},
		},
	}
	if _, err := c.cs.NetworkingV1().NetworkPolicies("default").Create(ctx, pol, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer c.cs.NetworkingV1().NetworkPolicies("default").Delete(ctx, "v6-only", metav1.DeleteOptions{})
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		evs, err := c.cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "reason=NotEnforced,involvedObject.name=v6-only"})
		return err == nil && len(evs.Items) > 0, nil
	})
	if err != nil {
		t.Fatal("no NotEnforced event for a policy with an IPv6 ipBlock")
	}
	out, err := c.ferry(t, time.Minute, "status", "--name", c.name)
	if err != nil || !strings.Contains(out, "default/v6-only") || !strings.Contains(out, `only IPv4 CIDRs are enforced`) {
		t.Fatalf("status does not report the policy: %v\n%s", err, out)
	}
	var nodes []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "default/v6-only") {
			nodes = append(nodes, strings.Fields(line)[1])
		}
	}
	sort.Strings(nodes)
	if len(nodes) != 2 {
		t.Errorf("want the problem reported by both nodes' agents, got %s", fmt.Sprint(nodes))
	}
}
