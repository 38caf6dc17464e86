package logs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(ns, name string, labels map[string]string, restarts int32, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Spec: corev1.PodSpec{NodeName: "node-1"}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c, RestartCount: restarts,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}})
	}
	return p
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func event(ns, name, reason string, at time.Time) *corev1.Event {
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: "Warning", Reason: reason,
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "x"}, Message: reason + " happened", LastTimestamp: metav1.NewTime(at)}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("export lacks %s: %v", path, err)
	}
	return string(b)
}

func TestExportWritesKindLogsPodLogsOfControlPlaneAndNodeAgentsAndEventsOfFerryNamespaces(t *testing.T) {
	t.Parallel()
	agent := map[string]string{"app.kubernetes.io/name": "ferry-node-agent"}
	ferry := map[string]string{"app.kubernetes.io/managed-by": "ferry"}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	objs := []runtime.Object{
		namespace("ferry-system", ferry), namespace("kube-system", nil), namespace("ferry-ml", ferry), namespace("other", nil),
		pod("ferry-system", "ferry-0", nil, 0, "server"),
		pod("kube-system", "ferry-node-agent-abc", agent, 2, "agent"),
		pod("kube-system", "coredns-1", map[string]string{"k8s-app": "kube-dns"}, 0, "coredns"),
		pod("other", "unrelated", nil, 0, "main"),
		event("ferry-system", "e2", "Second", t0.Add(time.Minute)), event("ferry-system", "e1", "First", t0),
		event("kube-system", "e3", "NotEnforced", t0), event("ferry-ml", "e4", "FailedScheduling", t0),
		event("other", "e5", "Unrelated", t0),
	}
	dir := filepath.Join(t.TempDir(), "out")
	var kindDir string
	var out bytes.Buffer
	err := Export(t.Context(), Options{Dir: dir, Client: fake.NewClientset(objs...), Out: &out,
		KindLogs: func(d string) error { kindDir = d; return os.MkdirAll(filepath.Join(d, "node-1"), 0o755) }})
	if err != nil {
		t.Fatalf("Export: %v\n%s", err, out.String())
	}
	if kindDir != filepath.Join(dir, "kind") {
		t.Errorf("kind's export went to %q, want %s", kindDir, filepath.Join(dir, "kind"))
	}
	// The fake clientset answers every log request with "fake logs".
	if got := read(t, filepath.Join(dir, "control-plane/ferry-0/server.log")); got != "fake logs" {
		t.Errorf("control-plane log = %q", got)
	}
	read(t, filepath.Join(dir, "node-agent/ferry-node-agent-abc/agent.log"))
	read(t, filepath.Join(dir, "node-agent/ferry-node-agent-abc/agent.previous.log")) // it restarted
	if st := read(t, filepath.Join(dir, "node-agent/ferry-node-agent-abc/status.txt")); !strings.Contains(st, "restarts=2 waiting CrashLoopBackOff") {
		t.Errorf("node agent status = %q", st)
	}
	for _, notThere := range []string{"node-agent/coredns-1", "control-plane/ferry-0/server.previous.log", "events/other.txt", "control-plane/unrelated"} {
		if _, err := os.Stat(filepath.Join(dir, notThere)); err == nil {
			t.Errorf("export has %s, which is not ferry's", notThere)
		}
	}
	ev := read(t, filepath.Join(dir, "events/ferry-system.txt"))
	if first, second := strings.Index(ev, "First"), strings.Index(ev, "Second"); first < 0 || second < first {
		t.Errorf("ferry-system events not oldest first:\n%s", ev)
	}
	if !strings.Contains(ev, "2026-01-02T03:04:05Z Warning First pod/x x1: First happened") {
		t.Errorf("event line format:\n%s", ev)
	}
	if ev := read(t, filepath.Join(dir, "events/kube-system.txt")); !strings.Contains(ev, "NotEnforced") {
		t.Errorf("kube-system events: %q", ev)
	}
	if ev := read(t, filepath.Join(dir, "events/ferry-ml.txt")); !strings.Contains(ev, "FailedScheduling") {
		t.Errorf("tenant namespace events: %q", ev)
	}
	for _, step := range []string{"✓ kind's log export", "✓ control-plane pod logs (ferry-system)", "✓ node agent logs", "✓ events of", "1 pods into", "logs exported to"} {
		if !strings.Contains(out.String(), step) {
			t.Errorf("progress lacks %q:\n%s", step, out.String())
		}
	}
}

func TestExportGoesOnAfterAFailedStepAndReportsIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	cs := fake.NewClientset(pod("ferry-system", "ferry-0", nil, 0, "server"))
	err := Export(t.Context(), Options{Dir: dir, Client: cs, Out: &out, KindLogs: func(string) error { return errors.New("no nodes") }})
	if err == nil || !strings.Contains(err.Error(), "no nodes") {
		t.Fatalf("Export with a failing kind export = %v, want its error", err)
	}
	read(t, filepath.Join(dir, "control-plane/ferry-0/server.log"))
	if !strings.Contains(out.String(), "✗ kind's log export") {
		t.Errorf("progress does not show the failed step:\n%s", out.String())
	}
}

func TestExportWithoutAClientStillRunsKindsExport(t *testing.T) {
	t.Parallel()
	called := false
	err := Export(t.Context(), Options{Dir: t.TempDir(), KindLogs: func(string) error { called = true; return nil }})
	if !called || err == nil || !strings.Contains(err.Error(), "no API client") {
		t.Fatalf("called=%t err=%v: want kind's export run and the missing API steps reported", called, err)
	}
	if err := Export(t.Context(), Options{Dir: t.TempDir()}); err == nil {
		t.Fatal("Export with nothing to export from succeeded")
	}
}
