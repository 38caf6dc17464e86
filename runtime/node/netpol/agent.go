package netpol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	netlisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
)

// Agent keeps one node's ruleset in step with the cluster: every change to
// a pod, namespace or policy recompiles the node's rules, and a ruleset that
// differs from the last one applied is applied (atomically, by Apply).
// Policies it cannot enforce get a Warning event, once per problem.
type Agent struct {
	Client kubernetes.Interface
	Node   string
	Apply  func(ctx context.Context, script string) error
	Log    *slog.Logger
	Resync time.Duration
	// OnApplied, when set, is called after each ruleset is applied.
	OnApplied func(*Ruleset)

	last     string
	reported map[Problem]bool
}

// NftApply applies scripts with `nft -f -`, inside the network namespace
// at netns when it is not empty.
func NftApply(netns string) func(context.Context, string) error {
	return func(ctx context.Context, script string) error {
		args := []string{"-f", "-"}
		name := "nft"
		if netns != "" {
			name, args = "ip", append([]string{"netns", "exec", netns, "nft"}, args...)
		}
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Stdin = strings.NewReader(script)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("nft -f: %w: %s", err, strings.TrimSpace(out.String()))
		}
		return nil
	}
}

// Run watches the cluster and applies rulesets until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if a.Client == nil || a.Node == "" || a.Apply == nil || a.Log == nil {
		return errors.New("netpol agent: client, node, apply and log are required")
	}
	if a.Resync <= 0 {
		a.Resync = 5 * time.Minute
	}
	a.reported = map[Problem]bool{}
	f := informers.NewSharedInformerFactory(a.Client, a.Resync)
	pods, nss, pols := f.Core().V1().Pods(), f.Core().V1().Namespaces(), f.Networking().V1().NetworkPolicies()
	poke := make(chan struct{}, 1)
	wake := func() {
		select {
		case poke <- struct{}{}:
		default:
		}
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { wake() },
		UpdateFunc: func(any, any) { wake() },
		DeleteFunc: func(any) { wake() },
	}
	for _, inf := range []cache.SharedIndexInformer{pods.Informer(), nss.Informer(), pols.Informer()} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return err
		}
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("netpol agent: %v cache did not sync", typ)
		}
	}
	wake()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poke:
		}
		c, err := snapshot(pods.Lister(), nss.Lister(), pols.Lister())
		if err == nil {
			err = a.sync(ctx, c)
		}
		if err != nil {
			a.Log.Error("netpol sync failed; retrying", "err", err)
			time.AfterFunc(2*time.Second, wake)
		}
	}
}

// snapshot copies the listers' state into a Cluster.
func snapshot(podL corelisters.PodLister, nsL corelisters.NamespaceLister, polL netlisters.NetworkPolicyLister) (*Cluster, error) {
	c := &Cluster{}
	ps, err := podL.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue // no pod IP of its own: policies do not apply
		}
		pod := Pod{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, IP: ip, Node: p.Spec.NodeName}
		for _, ctr := range p.Spec.Containers {
			for _, port := range ctr.Ports {
				proto := string(port.Protocol)
				if proto == "" {
					proto = "TCP"
				}
				if port.Name != "" {
					pod.Ports = append(pod.Ports, NamedPort{Name: port.Name, Port: port.ContainerPort, Protocol: proto})
				}
			}
		}
		c.Pods = append(c.Pods, pod)
	}
	ns, err := nsL.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		c.Namespaces = append(c.Namespaces, Namespace{Name: n.Name, Labels: n.Labels})
	}
	qs, err := polL.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		c.Policies = append(c.Policies, *q.DeepCopy())
	}
	return c, nil
}

func (a *Agent) sync(ctx context.Context, c *Cluster) error {
	rs := Compile(c, a.Node)
	script := rs.Render()
	if script != a.last {
		if err := a.Apply(ctx, script); err != nil {
			return err
		}
		a.last = script
		a.Log.Info("ruleset applied", "ingressChains", len(rs.Ingress), "egressChains", len(rs.Egress), "sets", len(rs.Sets)+len(rs.PairSets))
		if a.OnApplied != nil {
			a.OnApplied(rs)
		}
	}
	for _, p := range rs.Problems {
		if a.reported[p] {
			continue
		}
		a.Log.Warn("policy not enforced", "policy", p.Policy, "reason", p.Reason)
		ns, name, _ := strings.Cut(p.Policy, "/")
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: name + ".", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: "NetworkPolicy", APIVersion: "networking.k8s.io/v1", Namespace: ns, Name: name},
			Reason:         "NotEnforced", Type: corev1.EventTypeWarning,
			Message:        "ferry's node agent on " + a.Node + " cannot enforce part of this policy, which therefore allows nothing: " + p.Reason,
			Source:         corev1.EventSource{Component: "ferry-netpol", Host: a.Node},
			FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
		}
		if _, err := a.Client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("report %s: %w", p.Policy, err)
		}
		a.reported[p] = true
	}
	return nil
}
