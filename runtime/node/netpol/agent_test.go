package netpol

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func podObj(ns, name, ip, app string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{PodIP: ip, Phase: corev1.PodRunning},
	}
}

func denyIngress(ns string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deny"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress"}}}
}

// TestAgentFollowsPolicyChangesIntoTheKernel runs the agent against a fake
// API with a network-namespace lab as its node: a default-deny created and
// deleted 100 times reaches the kernel each time; the test logs the time
// from the API write to the applied ruleset (p50/p99), and checks real
// connections in both states.
func TestAgentFollowsPolicyChangesIntoTheKernel(t *testing.T) {
	a, b := netip.MustParseAddr("10.244.0.10"), netip.MustParseAddr("10.244.0.20")
	l := newLab(t, a, b)
	l.listen(a, 8080)
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ferry-a", Labels: map[string]string{"kubernetes.io/metadata.name": "ferry-a"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ferry-b", Labels: map[string]string{"kubernetes.io/metadata.name": "ferry-b"}}},
		podObj("ferry-a", "web", a.String(), "web"),
		podObj("ferry-b", "client", b.String(), "client"),
	)
	applied := make(chan bool, 16) // whether web is isolated in the ruleset just applied
	agent := &Agent{Client: cs, Node: "n1", Apply: NftApply(l.prefix + "r"), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnApplied: func(rs *Ruleset) {
			applied <- slices.ContainsFunc(rs.Ingress, func(c Chain) bool { return c.IP == a })
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	wait := func(isolated bool) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			select {
			case got := <-applied:
				if got == isolated {
					return time.Since(start)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no ruleset with web isolated=%v within 10s", isolated)
			}
		}
	}
	wait(false)
	if !l.connects(b, a, 8080) {
		t.Fatal("with no policy, client cannot reach web")
	}
	pols := cs.NetworkingV1().NetworkPolicies("ferry-a")
	var lat []time.Duration
	for i := range 100 {
		start := time.Now()
		if i%2 == 0 {
			if _, err := pols.Create(ctx, denyIngress("ferry-a"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if err := pols.Delete(ctx, "deny", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		wait(i%2 == 0)
		lat = append(lat, time.Since(start))
		if i == 98 && l.connects(b, a, 8080) {
			t.Fatal("default-deny applied, yet client still reaches web")
		}
	}
	if !l.connects(b, a, 8080) {
		t.Fatal("default-deny removed, yet client cannot reach web")
	}
	slices.Sort(lat)
	t.Logf("FIGURE policy change → ruleset in the kernel, 100 changes: p50 %s, p99 %s, max %s",
		lat[49].Round(time.Microsecond), lat[98].Round(time.Microsecond), lat[99].Round(time.Microsecond))
}

func TestAgentReportsUnenforceablePoliciesOnce(t *testing.T) {
	cs := fake.NewClientset(podObj("ferry-a", "web", "10.244.0.10", "web"),
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ferry-a", Name: "v6"},
			Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "fd00::/8"}}}}}}})
	var scripts []string
	agent := &Agent{Client: cs, Node: "n1", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), reported: map[Problem]bool{},
		Apply: func(_ context.Context, s string) error { scripts = append(scripts, s); return nil }}
	c := &Cluster{Pods: []Pod{{Namespace: "ferry-a", Name: "web", Labels: map[string]string{"app": "web"}, IP: netip.MustParseAddr("10.244.0.10"), Node: "n1"}}}
	pol, _ := cs.NetworkingV1().NetworkPolicies("ferry-a").Get(context.Background(), "v6", metav1.GetOptions{})
	c.Policies = []networkingv1.NetworkPolicy{*pol}
	for range 3 {
		if err := agent.sync(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	evs, _ := cs.CoreV1().Events("ferry-a").List(context.Background(), metav1.ListOptions{})
	if len(evs.Items) != 1 || evs.Items[0].Reason != "NotEnforced" || evs.Items[0].InvolvedObject.Name != "v6" || evs.Items[0].Type != corev1.EventTypeWarning {
		t.Fatalf("events %+v", evs.Items)
	}
	if len(scripts) != 1 {
		t.Fatalf("an unchanged ruleset was applied %d times", len(scripts))
	}
}
