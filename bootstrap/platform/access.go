package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/client"
)

// waitAdminToken reads the admin token the server publishes after start.
func waitAdminToken(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) (string, error) {
	var token string
	var last error = errNoToken
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		sec, err := cs.CoreV1().Secrets(Namespace).Get(ctx, AdminTokenSecret, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		token = strings.TrimSpace(string(sec.Data[v1.AdminTokenKey]))
		return token != "", nil
	})
	if err != nil {
		return "", fmt.Errorf("the control plane did not publish its admin token in secret %s/%s within %s (%v); see kubectl -n %s logs deploy/ferry",
			Namespace, AdminTokenSecret, timeout, last, Namespace)
	}
	return token, nil
}

// nodeAddresses lists the addresses of Ready nodes to try, control-plane
// nodes first, external addresses before internal ones.
func nodeAddresses(nodes []corev1.Node) []string {
	var first, rest []string
	for _, n := range nodes {
		if !ready(n) {
			continue
		}
		_, cp := n.Labels["node-role.kubernetes.io/control-plane"]
		for _, kind := range []corev1.NodeAddressType{corev1.NodeExternalIP, corev1.NodeInternalIP} {
			for _, a := range n.Status.Addresses {
				if a.Type != kind || a.Address == "" {
					continue
				}
				if cp {
					first = append(first, a.Address)
				} else {
					rest = append(rest, a.Address)
				}
			}
		}
	}
	return append(first, rest...)
}

func ready(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// loopback are a local cluster's host ports on kind.LoopbackAddress for
// the control plane and the gateway (0: not a local cluster, or one made
// before ferry mapped its ports).
type loopback struct{ server, gateway int }

func loopbackPorts(ctx context.Context, o Options) (loopback, error) {
	if o.KindCluster == "" {
		return loopback{}, nil
	}
	var lp loopback
	var err error
	if lp.server, err = kind.HostPort(ctx, "", o.KindCluster, kind.ServerNodePort); err != nil {
		return lp, err
	}
	lp.gateway, err = kind.HostPort(ctx, "", o.KindCluster, kind.GatewayNodePort)
	return lp, err
}

// serviceValues are the chart values of the platform's two Services:
// NodePort, on the node ports the local cluster maps where it maps them
// (elsewhere Kubernetes chooses).
func serviceValues(lp loopback) map[string]any {
	server := map[string]any{"type": "NodePort"}
	if lp.server > 0 {
		server["nodePort"] = kind.ServerNodePort
	}
	gateway := map[string]any{"type": "NodePort"}
	if lp.gateway > 0 {
		gateway["nodePort"] = kind.GatewayNodePort
	}
	return map[string]any{"service": server, "gateway": map[string]any{"service": gateway}}
}

// loopbackURL waits (30 s: kube-proxy may need a moment to program a new
// node port) for probe to pass on a local cluster's mapped port.
func loopbackURL(ctx context.Context, port int, probe func(context.Context, *http.Client, string) bool) string {
	u := "http://" + net.JoinHostPort(kind.LoopbackAddress, strconv.Itoa(port))
	hc := &http.Client{Timeout: 2 * time.Second}
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return probe(ctx, hc, u), nil
	})
	if err != nil {
		return ""
	}
	return u
}

func readyzProbe(ctx context.Context, hc *http.Client, u string) bool {
	return client.New(u, client.WithHTTPClient(hc)).Readyz(ctx) == nil
}

// serverURL finds where the platform's NodePort answers /readyz from this
// machine: a local cluster's loopback port when it maps one (and only
// there), else a node address.
func serverURL(ctx context.Context, cs kubernetes.Interface, local bool, loopback int) (string, error) {
	if loopback > 0 {
		if u := loopbackURL(ctx, loopback, readyzProbe); u != "" {
			return u, nil
		}
		return "", fmt.Errorf("the control plane runs, but does not answer on %s:%d, the local cluster's mapping of node port %d; see `docker ps` and kubectl -n %s get svc %s",
			kind.LoopbackAddress, loopback, kind.ServerNodePort, Namespace, PlatformRelease)
	}
	url, addrs, port, err := nodePortURL(ctx, cs, PlatformRelease, readyzProbe)
	if err != nil || url != "" {
		return url, err
	}
	hint := fmt.Sprintf("kubectl -n %s port-forward svc/%s 8080, then ferry login --server http://127.0.0.1:8080 --token $(kubectl -n %s get secret %s -o jsonpath='{.data.token}' | base64 -d)",
		Namespace, PlatformRelease, Namespace, AdminTokenSecret)
	if local {
		hint = "the local cluster's node addresses should be reachable from this machine; is a firewall in the way? Otherwise: " + hint
	}
	return "", errors.New("the control plane runs, but none of the node addresses " + strings.Join(addrs, ", ") +
		" answers on node port " + strconv.Itoa(int(port)) + " from here: " + hint)
}

// GatewayService is the serving gateway's Service (the chart's name).
const GatewayService = PlatformRelease + "-gateway"

func healthzProbe(ctx context.Context, hc *http.Client, u string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// gatewayURL finds where the serving gateway's NodePort answers /healthz
// from this machine: as serverURL.
func gatewayURL(ctx context.Context, cs kubernetes.Interface, loopback int) (string, error) {
	if loopback > 0 {
		if u := loopbackURL(ctx, loopback, healthzProbe); u != "" {
			return u, nil
		}
		return "", fmt.Errorf("the serving gateway does not answer on %s:%d, the local cluster's mapping of node port %d; deployments still answer inside the cluster (kubectl -n %s port-forward svc/%s 8081)",
			kind.LoopbackAddress, loopback, kind.GatewayNodePort, Namespace, GatewayService)
	}
	url, addrs, port, err := nodePortURL(ctx, cs, GatewayService, healthzProbe)
	if err != nil || url != "" {
		return url, err
	}
	return "", fmt.Errorf("the serving gateway does not answer on node port %d of %s from here; deployments still answer inside the cluster (kubectl -n %s port-forward svc/%s 8081)",
		port, strings.Join(addrs, ", "), Namespace, GatewayService)
}

// nodePortURL finds a node address on which service's "http" NodePort
// passes probe from this machine: the URL, or "" with the addresses and
// port tried.
func nodePortURL(ctx context.Context, cs kubernetes.Interface, service string, probe func(context.Context, *http.Client, string) bool) (string, []string, int32, error) {
	svc, err := cs.CoreV1().Services(Namespace).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return "", nil, 0, fmt.Errorf("service %s/%s: %w", Namespace, service, err)
	}
	var port int32
	for _, p := range svc.Spec.Ports {
		if p.Name == "http" {
			port = p.NodePort
		}
	}
	if port == 0 {
		return "", nil, 0, fmt.Errorf("service %s/%s has no node port", Namespace, svc.Name)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", nil, 0, fmt.Errorf("list nodes: %w", err)
	}
	addrs := nodeAddresses(nodes.Items)
	hc := &http.Client{Timeout: 2 * time.Second}
	var url string
	// kube-proxy may need a moment to program a new node port.
	_ = wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, a := range addrs {
			u := "http://" + net.JoinHostPort(a, strconv.Itoa(int(port)))
			if probe(ctx, hc, u) {
				url = u
				return true, nil
			}
		}
		return false, nil
	})
	return url, addrs, port, ctx.Err()
}
