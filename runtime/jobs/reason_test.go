package jobs

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// TestControllerReasonsNameThePullErrorWhileRunningAndTheOOMKillWhenFailed
// puts a replica in ImagePullBackOff (the job's reason names the image),
// then OOM-kills it and fails the Job (the reason names the limit, before
// Kubernetes' own condition).
func TestControllerReasonsNameThePullErrorWhileRunningAndTheOOMKillWhenFailed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.submit(store.Job{Tenant: "a", Name: "oom", Spec: job(0, "a", "oom", 1, "1", "64Mi", 0).Spec, CreatedBy: "alice"})
	f.waitJob("oom", func(j store.Job) bool { return j.State == store.JobRunning })
	limits := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "oom-0-abcde", Namespace: "ferry-a",
		Labels:      map[string]string{JobLabel: "oom", tenants.TenantLabel: "a"},
		Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: "0"}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "main", Image: "ferry.local/nope:1", Resources: corev1.ResourceRequirements{Limits: limits}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "ferry.local/nope:1"`}}}}}}
	p, err := f.cs.CoreV1().Pods("ferry-a").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := f.waitJob("oom", func(j store.Job) bool { return strings.Contains(j.Reason, "ImagePullBackOff") })
	if !strings.Contains(j.Reason, `"ferry.local/nope:1"`) || j.State != store.JobRunning {
		t.Fatalf("pull reason: %+v", j)
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}}
	if _, err := f.cs.CoreV1().Pods("ferry-a").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	kj, err := f.cs.BatchV1().Jobs("ferry-a").Get(ctx, "oom", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kj.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded",
		Message: "Job has reached the specified backoff limit", LastTransitionTime: metav1.Now()}}
	if _, err := f.cs.BatchV1().Jobs("ferry-a").UpdateStatus(ctx, kj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	j = f.waitJob("oom", func(j store.Job) bool { return j.State == store.JobFailed })
	if !strings.HasPrefix(j.Reason, `container "main" used more than its memory limit of 64Mi and was killed (OOMKilled`) ||
		!strings.HasSuffix(j.Reason, "BackoffLimitExceeded: Job has reached the specified backoff limit") {
		t.Fatalf("failed reason: %q", j.Reason)
	}
}
