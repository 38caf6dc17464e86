package monitor

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/pipelines"
	"github.com/ferry-ml/ferry/runtime/serving"
	"github.com/ferry-ml/ferry/store"
)

// TestStepAndRevisionPodsAsTheirControllersMakeThemAreWorkloads builds a
// pipeline step's pod and a serving revision's pod with the controllers'
// own builders (not hand-written labels) and checks the sampler counts
// them as a step ("<run>.<step>", a fan-out item "train-2") and a
// revision, with their requests and use: what `ferry top` lists.
func TestStepAndRevisionPodsAsTheirControllersMakeThemAreWorkloads(t *testing.T) {
	step, _, err := pipelines.StepPod(pipelines.PodConfig{Image: "p", URL: "http://cp"}, pipelines.StepPodInput{Tenant: "ml", RunID: "0123456789abcdef",
		Row: "train[2]", Step: v1.Step{Name: "train", Image: "w", Resources: v1.Resources{CPU: "2", Memory: "1Gi"}}}, "tok")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(v1.DeploymentSpec{Runtime: v1.RuntimeSklearn, Port: serving.RuntimePort, Resources: v1.Resources{CPU: "1", Memory: "512Mi"}})
	d, r := store.Deployment{Tenant: "ml", Name: "iris", Spec: spec}, store.Revision{Number: 3}
	dspec, _ := serving.Spec(d)
	dep, _, err := serving.Objects(serving.PodConfig{WorkloadImage: "w", URL: "http://cp"}, d, dspec, r, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The pod a ReplicaSet makes from the revision's template.
	rev := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iris-r3-5d8f-abcde", Namespace: dep.Namespace, Labels: dep.Spec.Template.Labels, UID: "rev"},
		Spec: dep.Spec.Template.Spec, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	step.UID, step.Status.Phase = "step", corev1.PodRunning

	for _, c := range []struct {
		pod  *corev1.Pod
		kind store.WorkloadKind
		name string
	}{{step, store.WorkloadStep, "0123456789abcdef.train-2"}, {rev, store.WorkloadRevision, "iris-r3"}} {
		k, ok := WorkloadOf(c.pod)
		if !ok || k != (store.WorkloadKey{Tenant: "ml", Kind: c.kind, Name: c.name}) {
			t.Errorf("pod %s is %+v (%v), want %s %s", c.pod.Name, k, ok, c.kind, c.name)
		}
	}
	got := Samples([]*corev1.Pod{step, rev}, map[string]PodUsage{"step": {CPU: 1.5e9, Memory: 700 << 20}, "rev": {CPU: 2e8, Memory: 300 << 20}})
	if len(got) != 2 {
		t.Fatalf("samples: %+v", got)
	}
	want := map[store.WorkloadKind]store.UsageSample{
		store.WorkloadStep:     {Pods: 1, Request: store.UsageAmount{CPU: 2000, Memory: 1 << 30}, Use: store.UsageAmount{CPU: 1.5e9, Memory: 700 << 20}},
		store.WorkloadRevision: {Pods: 1, Request: store.UsageAmount{CPU: 1000, Memory: 512 << 20}, Use: store.UsageAmount{CPU: 2e8, Memory: 300 << 20}},
	}
	for _, s := range got {
		w := want[s.Key.Kind]
		if s.Pods != w.Pods || s.Request != w.Request || s.Use != w.Use {
			t.Errorf("%s: %+v, want %+v", s.Key, s, w)
		}
	}
}
