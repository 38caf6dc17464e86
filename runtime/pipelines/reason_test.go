package pipelines

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// setPod replaces the status of a step's only pod, as a kubelet would.
func (env *engineEnv) setPod(step string, status corev1.PodStatus) *corev1.Pod {
	env.t.Helper()
	ctx := env.t.Context()
	list, err := env.cs.CoreV1().Pods(tenants.Namespace("ml")).List(ctx, metav1.ListOptions{LabelSelector: StepLabel + "=" + step})
	if err != nil || len(list.Items) != 1 {
		env.t.Fatalf("pods of step %s: %d, %v", step, len(list.Items), err)
	}
	p := &list.Items[0]
	p.Status = status
	if _, err := env.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		env.t.Fatal(err)
	}
	env.settle()
	return p
}

// reasonTag is the reason tag of a step's tracking run ("" without one).
func (env *engineEnv) reasonTag(run string) string {
	env.t.Helper()
	var r store.Run
	if err := env.db.Read(env.t.Context(), func(tx *store.Tx) (err error) { r, err = tx.Run(env.t.Context(), "ml", run); return err }); err != nil {
		env.t.Fatal(err)
	}
	for _, t := range r.Tags {
		if t.Key == TagReason {
			return t.Value
		}
	}
	return ""
}

// TestStepReasonsSayWhyItWaitsAndThatItWasOOMKilledWithItsLimit drives a
// step whose pod first cannot pull its image, then is scheduled nowhere
// (the scheduler's event), then runs, then is killed for its memory: the
// step's reason and its tracking run's tag follow each, in plain words.
func TestStepReasonsSayWhyItWaitsAndThatItWasOOMKilledWithItsLimit(t *testing.T) {
	env := newEngineEnv(t)
	e := env.engine()
	var events []corev1.Event
	e.Events = func(namespace, pod string) []corev1.Event {
		if namespace != tenants.Namespace("ml") {
			t.Errorf("events asked in %s", namespace)
		}
		return events
	}
	ctx := t.Context()
	r := env.submit(nil)
	sync := func() store.PipelineStep {
		t.Helper()
		if err := e.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		_, steps := env.run(r)
		return steps["prep"]
	}
	if prep := sync(); prep.State != store.PipelineRunRunning || prep.Reason != "" || prep.ChildRun == "" {
		t.Fatalf("prep after the first pass: %+v", prep)
	}

	env.setPod("prep", corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "ferry.local/workload:1"`}}}}})
	pull := `cannot pull the image "ferry.local/workload:1" (ImagePullBackOff): Back-off pulling image "ferry.local/workload:1"`
	prep := sync()
	if prep.State != store.PipelineRunRunning || prep.Reason != pull {
		t.Fatalf("waiting on its image: %s %q, want %q", prep.State, prep.Reason, pull)
	}
	if got := env.reasonTag(prep.ChildRun); got != pull {
		t.Fatalf("the step run's %s tag is %q, want %q", TagReason, got, pull)
	}

	events = []corev1.Event{{Reason: "FailedScheduling", Type: corev1.EventTypeWarning, Message: "0/2 nodes are available: 2 Insufficient memory.",
		LastTimestamp: metav1.NewTime(time.Now())}}
	env.setPod("prep", corev1.PodStatus{Phase: corev1.PodPending})
	if prep := sync(); prep.Reason != "cannot be scheduled: 0/2 nodes are available: 2 Insufficient memory." {
		t.Fatalf("unschedulable, from the scheduler's event: %q", prep.Reason)
	}
	events = nil

	env.setPod("prep", corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}})
	if prep := sync(); prep.State != store.PipelineRunRunning || prep.Reason != "" || env.reasonTag(prep.ChildRun) != "" {
		t.Fatalf("running untroubled: %q, tag %q", prep.Reason, env.reasonTag(prep.ChildRun))
	}

	env.setPod("prep", corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}})
	oom := `attempt 1: container "main" used more than its memory limit of 512Mi and was killed (OOMKilled, exit code 137)`
	prep = sync()
	if prep.State != store.PipelineRunFailed || prep.Reason != oom {
		t.Fatalf("OOM-killed: %s %q, want %q", prep.State, prep.Reason, oom)
	}
	if got := env.reasonTag(prep.ChildRun); got != oom {
		t.Fatalf("the step run's %s tag is %q, want %q", TagReason, got, oom)
	}
	if err := e.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := env.run(r); got.State != store.PipelineRunFailed || got.Reason != "step prep failed: "+oom {
		t.Fatalf("the run: %s %q", got.State, got.Reason)
	}
}

// TestAStepsPlainExitKeepsItsExitCode: a non-zero exit of the step's own
// container reads "exit code N" as before (retry policies and scripts
// match it); an init container's failure is named.
func TestAStepsPlainExitKeepsItsExitCodeAndAFailedInitContainerIsNamed(t *testing.T) {
	env := newEngineEnv(t)
	e := env.engine()
	r := env.submit(nil)
	if err := e.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	env.setPod("prep", corev1.PodStatus{Phase: corev1.PodFailed,
		InitContainerStatuses: []corev1.ContainerStatus{{Name: "ferry", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "no space left on device"}}}}})
	if err := e.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, steps := env.run(r)
	if want := `attempt 1: container "ferry" exited with code 1 (no space left on device)`; steps["prep"].Reason != want {
		t.Fatalf("init container failure: %q, want %q", steps["prep"].Reason, want)
	}

	pod := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 3}}}}}}
	kind, msg := e.explainFailure(t.Context(), &runState{r: r}, &store.PipelineStep{}, pod)
	if kind != "error" || msg != "exit code 3" {
		t.Fatalf("plain exit: %s %q", kind, msg)
	}
}
