// Package logs exports what it takes to find out why a ferry cluster
// misbehaves into one folder: kind's log export of the nodes (journals,
// containers, kubelet), the control plane's pod logs, the node agents'
// logs, and the events of ferry's namespaces. `ferry export logs` and the
// e2e harness (on failure) use it.
package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/internal/progress"
)

// What the export looks for; the charts set these names and labels.
const (
	// ControlPlaneNamespace holds the platform chart's pods.
	ControlPlaneNamespace = "ferry-system"
	// NodeAgentNamespace holds the network chart's DaemonSet.
	NodeAgentNamespace = "kube-system"
	// NodeAgentSelector selects the ferry-node-agent DaemonSet's pods.
	NodeAgentSelector = "app.kubernetes.io/name=ferry-node-agent"
	// ManagedSelector selects the namespaces ferry made (tenants).
	ManagedSelector = "app.kubernetes.io/managed-by=ferry"
)

// Options configures an export.
type Options struct {
	// Dir receives everything (created if missing).
	Dir string
	// Client reaches the cluster's API; nil skips the API steps (reported as
	// an error), so a cluster whose API is gone still gets KindLogs.
	Client kubernetes.Interface
	// KindLogs, when set, writes kind's log export of the nodes into a
	// folder (a local kind cluster: kind.ExportLogs).
	KindLogs func(dir string) error
	// Out receives one progress line per step (default: discarded).
	Out io.Writer
}

// Validate fills defaults.
func (o *Options) Validate() error {
	if o.Dir == "" {
		return errors.New("export logs: no folder given")
	}
	if o.Client == nil && o.KindLogs == nil {
		return errors.New("export logs: neither an API client nor a kind cluster to export from")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return nil
}

// Export writes every part it can and returns the errors of those it could
// not: a broken cluster is what it is for, so one failed step does not stop
// the others.
//
//	DIR/kind/                          kind's export (nodes' journals, containers, pods)
//	DIR/control-plane/POD/CONTAINER.log the pods of ferry-system (.previous.log: before a
//	                                    restart; status.txt: node, phase, conditions, states)
//	DIR/node-agent/POD/CONTAINER.log    the ferry-node-agent pods of kube-system (the same)
//	DIR/events/NAMESPACE.txt            events, oldest first
func Export(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("export logs: %w", err)
	}
	p := progress.New(o.Out)
	var errs []error
	step := func(name string, fn func() error) {
		if err := p.Step(name, fn); err != nil {
			errs = append(errs, err)
		}
	}
	if o.KindLogs != nil {
		step("kind's log export of the nodes into "+filepath.Join(o.Dir, "kind"), func() error {
			return o.KindLogs(filepath.Join(o.Dir, "kind"))
		})
	}
	if o.Client == nil {
		errs = append(errs, errors.New("no API client: pod logs and events not exported"))
		return errors.Join(errs...)
	}
	pods := func(ns, selector, dir string) func() error {
		return func() error {
			n, err := podLogs(ctx, o.Client, ns, selector, filepath.Join(o.Dir, dir))
			p.Printf("  %d pods into %s", n, filepath.Join(o.Dir, dir))
			return err
		}
	}
	step("control-plane pod logs ("+ControlPlaneNamespace+")", pods(ControlPlaneNamespace, "", "control-plane"))
	step("node agent logs ("+NodeAgentNamespace+", "+NodeAgentSelector+")", pods(NodeAgentNamespace, NodeAgentSelector, "node-agent"))
	step("events of "+ControlPlaneNamespace+", "+NodeAgentNamespace+" and the tenant namespaces", func() error {
		nss, err := eventNamespaces(ctx, o.Client)
		if err != nil {
			return err
		}
		var errs []error
		for _, ns := range nss {
			errs = append(errs, events(ctx, o.Client, ns, filepath.Join(o.Dir, "events", ns+".txt")))
		}
		return errors.Join(errs...)
	})
	if len(errs) == 0 {
		p.Printf("logs exported to %s", o.Dir)
	}
	return errors.Join(errs...)
}

// podLogs writes the logs of every container (init containers included) of
// the pods selected in ns, and the previous instance's of those that
// restarted, plus each pod's status; it returns how many pods it found (none
// is no error: a cluster without the platform has no control plane).
func podLogs(ctx context.Context, cs kubernetes.Interface, ns, selector, dir string) (int, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return 0, fmt.Errorf("list pods in %s: %w", ns, err)
	}
	var errs []error
	for _, pod := range pods.Items {
		podDir := filepath.Join(dir, pod.Name)
		if err := os.MkdirAll(podDir, 0o755); err != nil {
			return 0, err
		}
		restarts := map[string]int32{}
		for _, s := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
			restarts[s.Name] = s.RestartCount
		}
		for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
			errs = append(errs, containerLog(ctx, cs, &pod, c.Name, false, filepath.Join(podDir, c.Name+".log")))
			if restarts[c.Name] > 0 {
				errs = append(errs, containerLog(ctx, cs, &pod, c.Name, true, filepath.Join(podDir, c.Name+".previous.log")))
			}
		}
		errs = append(errs, os.WriteFile(filepath.Join(podDir, "status.txt"), []byte(podStatus(&pod)), 0o644))
	}
	return len(pods.Items), errors.Join(errs...)
}

func containerLog(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, container string, previous bool, path string) error {
	rc, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: container, Previous: previous, Timestamps: true}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("logs of %s/%s container %s: %w", pod.Namespace, pod.Name, container, err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, rc)
	return errors.Join(err, f.Close())
}

// podStatus is a pod's node, phase, conditions and container states.
func podStatus(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pod %s/%s on %s: %s %s\n", p.Namespace, p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Message)
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, "condition %s=%s %s %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	for _, s := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		state := "unknown"
		switch {
		case s.State.Running != nil:
			state = "running"
		case s.State.Waiting != nil:
			state = "waiting " + s.State.Waiting.Reason + " " + s.State.Waiting.Message
		case s.State.Terminated != nil:
			state = fmt.Sprintf("terminated %s exit %d", s.State.Terminated.Reason, s.State.Terminated.ExitCode)
		}
		fmt.Fprintf(&b, "container %s ready=%t restarts=%d %s\n", s.Name, s.Ready, s.RestartCount, state)
	}
	return b.String()
}

// eventNamespaces are ferry-system, kube-system and every namespace ferry
// manages, sorted, each once.
func eventNamespaces(ctx context.Context, cs kubernetes.Interface) ([]string, error) {
	set := map[string]bool{ControlPlaneNamespace: true, NodeAgentNamespace: true}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: ManagedSelector})
	if err != nil {
		return nil, fmt.Errorf("list namespaces %s: %w", ManagedSelector, err)
	}
	for _, ns := range nss.Items {
		set[ns.Name] = true
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out, nil
}

// events writes a namespace's events, oldest first, one per line.
func events(ctx context.Context, cs kubernetes.Interface, ns, path string) error {
	list, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list events in %s: %w", ns, err)
	}
	items := list.Items
	sort.SliceStable(items, func(i, j int) bool { return eventTime(&items[i]).Before(eventTime(&items[j])) })
	var b strings.Builder
	for i := range items {
		e := &items[i]
		fmt.Fprintf(&b, "%s %s %s %s/%s x%d: %s\n", eventTime(e).UTC().Format(time.RFC3339), e.Type, e.Reason,
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, max(e.Count, 1), e.Message)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// eventTime is when an event last happened, whichever API wrote it.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}
