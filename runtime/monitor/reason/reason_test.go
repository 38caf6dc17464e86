package reason

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

var update = flag.Bool("update", false, "rewrite testdata/reasons.golden")

// TestExplainGolden explains every pod of testdata/cases.json and compares
// the reasons with testdata/reasons.golden (-update rewrites it).
func TestExplainGolden(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name   string         `json:"name"`
		Pod    corev1.Pod     `json:"pod"`
		Events []corev1.Event `json:"events"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, c := range cases {
		r := Explain(&c.Pod, c.Events)
		fmt.Fprintf(&got, "%s\n  kind: %s\n  reason: %s\n", c.Name, r.Kind, r.Message)
	}
	if *update {
		if err := os.WriteFile("testdata/reasons.golden", []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/reasons.golden")
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got.String() != string(want) {
		t.Errorf("reasons differ from testdata/reasons.golden (go test ./runtime/monitor/reason -update):\n%s", got.String())
	}
}

// TestExplainNamesTheLimitTheImageAndTheExitCode pins the words the e2e
// and users rely on, apart from the golden file's full sentences.
func TestExplainNamesTheLimitTheImageAndTheExitCode(t *testing.T) {
	t.Parallel()
	oom := &corev1.Pod{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "img:1",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}},
	}
	if r := Explain(oom, nil); r.Kind != "OOMKilled" || !strings.Contains(r.Message, "64Mi") || !strings.Contains(r.Message, "137") {
		t.Errorf("OOM: %+v", r)
	}
	pull := &corev1.Pod{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "ferry.local/nope:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: strings.Repeat("x", 5000)}}}}},
	}
	if r := Explain(pull, nil); r.Kind != "ErrImagePull" || !strings.Contains(r.Message, `"ferry.local/nope:1"`) || len(r.Message) > MaxMessage+100 {
		t.Errorf("pull: %d bytes, %+v", len(r.Message), r.Kind)
	}
	// Of two replicas, the OOM explains the job better than the other's exit code.
	exit := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}}}
	exit.Name, oom.Name = "train-0-a", "train-1-b"
	if got := ForPods([]*corev1.Pod{exit, oom}, nil); !strings.HasPrefix(got, "pod train-1-b: ") || !strings.Contains(got, "OOMKilled") {
		t.Errorf("ForPods = %q", got)
	}
	if got := ForPods([]*corev1.Pod{{Status: corev1.PodStatus{Phase: corev1.PodRunning}}}, nil); got != "" {
		t.Errorf("a healthy pod explained: %q", got)
	}
}
