package monitor

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ferry-ml/ferry/store"
)

// TestStartSamplesFromTheInformersAndExplainsFromWarningEvents runs the
// sampler against a fake API server (the kubelet summary from the
// fixture): ferry's pods reach the store each interval, and a notebook's
// Warning event explains it.
func TestStartSamplesFromTheInformersAndExplainsFromWarningEvents(t *testing.T) {
	t.Parallel()
	db := testDB(t, "ml", "vision")
	pods := fixturePods()
	lab := pods[2] // nb-lab-0: running but unready
	lab.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", Ready: false, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	objs := make([]runtime.Object, 0, len(pods))
	for _, p := range pods {
		objs = append(objs, p)
	}
	cs := fake.NewClientset(objs...)
	_, err := cs.CoreV1().Events("ferry-ml").Create(t.Context(), &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "nb-lab-0.1", Namespace: "ferry-ml"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ferry-ml", Name: lab.Name},
		Type:           corev1.EventTypeWarning, Reason: "Unhealthy", Message: "Readiness probe failed: connection refused",
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(db, cs, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.Summary = fixtureSummary
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() { cancel(); <-done }()
	var live []store.LiveUsage
	err = wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_ = db.Read(ctx, func(tx *store.Tx) error {
			at, _, err := tx.UsageTick(ctx)
			if err != nil || at.IsZero() {
				return err
			}
			live, err = tx.LiveUsage(ctx, at, []string{"ml"}, 100)
			return err
		})
		return len(live) == 3, nil
	})
	if err != nil {
		t.Fatalf("live workloads of ml: %+v", live)
	}
	var why string
	_ = wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		why = s.Explain("ml", store.WorkloadNotebook, "lab")
		return why != "", nil
	})
	if !strings.Contains(why, "readiness probe fails") {
		t.Fatalf("notebook lab explained as %q", why)
	}
	if got := s.Explain("ml", store.WorkloadJob, "train"); got != "" {
		t.Errorf("a healthy job explained as %q", got)
	}
}
