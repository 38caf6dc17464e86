package serving

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// TestANotReadyRevisionSaysWhyInPlainWords: a revision whose pod cannot
// pull its image names the image; its readiness probe failing (an event)
// is named; once ready it has no reason; a Deployment whose pods the quota
// refuses says so.
func TestANotReadyRevisionSaysWhyInPlainWords(t *testing.T) {
	c, _, cs, _, now := newTestController(t)
	ctx := t.Context()
	var events []corev1.Event
	c.Events = func(namespace, pod string) []corev1.Event { return events }
	// A held request: the stable revision wants one replica.
	c.Stats.Report(*now, v1.GatewayReport{Gateway: "g1", Revisions: []v1.RevisionReport{{Tenant: "a", Deployment: "iris", Revision: "iris-r1", Waiting: 1}}})
	sync := func() string {
		t.Helper()
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		return c.RevisionReason("a", "iris", "iris-r1")
	}
	if why := sync(); why != "" {
		t.Fatalf("no pods yet, nothing known: %q", why)
	}
	dep, err := cs.AppsV1().Deployments("ferry-a").Get(ctx, "iris-r1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iris-r1-7d9f-x2b", Namespace: "ferry-a", Labels: dep.Spec.Template.Labels},
		Spec: dep.Spec.Template.Spec,
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "model",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "w"`}}}}}}
	if _, err := cs.CoreV1().Pods("ferry-a").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Another revision's pod in trouble is not this one's reason.
	other := pod.DeepCopy()
	other.Name, other.Labels = "iris-r2-1", map[string]string{RevisionLabel: "iris-r2"}
	other.Status.ContainerStatuses[0].State.Waiting.Reason = "CrashLoopBackOff"
	if _, err := cs.CoreV1().Pods("ferry-a").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := `cannot pull the image "w" (ImagePullBackOff): Back-off pulling image "w"`; sync() != want {
		t.Fatalf("pull error: %q, want %q", c.RevisionReason("a", "iris", "iris-r1"), want)
	}

	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "model", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
	if _, err := cs.CoreV1().Pods("ferry-a").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	events = []corev1.Event{{Reason: "Unhealthy", Type: corev1.EventTypeWarning, Message: "Readiness probe failed: HTTP probe failed with statuscode: 503"}}
	if want := "its readiness probe fails: Readiness probe failed: HTTP probe failed with statuscode: 503"; sync() != want {
		t.Fatalf("failing probe: %q, want %q", c.RevisionReason("a", "iris", "iris-r1"), want)
	}

	dep.Status.ReadyReplicas = 1
	if _, err := cs.AppsV1().Deployments("ferry-a").UpdateStatus(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if why := sync(); why != "" {
		t.Fatalf("ready, still a reason: %q", why)
	}

	if err := cs.CoreV1().Pods("ferry-a").Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	dep.Status.ReadyReplicas = 0
	dep.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
		Message: `pods "iris-r1-7d9f-x2c" is forbidden: exceeded quota: ferry-quota, requested: cpu=1, used: cpu=4, limited: cpu=4`}}
	if _, err := cs.AppsV1().Deployments("ferry-a").UpdateStatus(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := `cannot create its pods: pods "iris-r1-7d9f-x2c" is forbidden: exceeded quota: ferry-quota, requested: cpu=1, used: cpu=4, limited: cpu=4`; sync() != want {
		t.Fatalf("quota: %q, want %q", c.RevisionReason("a", "iris", "iris-r1"), want)
	}
	if why := c.RevisionReason("a", "iris", "iris-r2"); why != "" {
		t.Fatalf("the canary at 0 replicas has a reason: %q", why)
	}
}
