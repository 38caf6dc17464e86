package jobs

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

func job(id int64, tenant, name string, replicas int32, cpu, mem string, gpu int64) store.Job {
	return store.Job{ID: id, Tenant: tenant, Name: name, Spec: store.JobSpec{
		Image: "ferry.local/workload:1", Command: []string{"python3", "/opt/ferry/examples/ddp.py"}, Args: []string{"--steps", "10"},
		Env: map[string]string{"Z_LAST": "1", "A_FIRST": "2"}, Replicas: replicas, MaxRetries: 2,
		Resources: store.Resources{CPU: cpu, Memory: mem, GPU: gpu},
	}}
}

func TestObjectsMatchGoldenFiles(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		j        store.Job
		admitted bool
	}{
		"ddp-queued.yaml":   {job(7, "team-a", "ddp", 2, "500m", "512Mi", 0), false},
		"gpu-admitted.yaml": {job(8, "team-a", "gpu", 1, "1", "1Gi", 2), true},
	}
	for golden, c := range cases {
		svc, j, err := Objects(c.j, c.admitted, Tracking{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, o := range []any{svc, j} {
			y, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			buf.WriteString("---\n")
			buf.Write(y)
		}
		path := filepath.Join("testdata", golden)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if buf.String() != string(want) {
			t.Errorf("%s differs:\n%s", golden, buf.String())
		}
	}
}

func TestObjectsRefuseBadQuantities(t *testing.T) {
	t.Parallel()
	if _, _, err := Objects(job(1, "a", "x", 1, "lots", "1Gi", 0), false, Tracking{}); err == nil || !strings.Contains(err.Error(), `cpu "lots"`) {
		t.Errorf("a bad cpu quantity: %v", err)
	}
}

func rl(cpu, mem string, gpu int64) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem), tenants.GPUResource: *resource.NewQuantity(gpu, resource.DecimalSI)}
}

func TestAdmitIsAllOrNothingInSubmissionOrderWithinATenant(t *testing.T) {
	t.Parallel()
	nodes := []Node{{Name: "n1", Free: rl("4", "8Gi", 2)}, {Name: "n2", Free: rl("4", "8Gi", 2)}}
	usage := map[string]Usage{
		"a": {Quota: store.Quota{CPU: "16", Memory: "32Gi", GPU: 3}, Used: rl("0", "0", 0)},
		"b": {Quota: store.Quota{CPU: "16", Memory: "32Gi", GPU: 4}, Used: rl("0", "0", 1)},
	}
	queued := []store.Job{
		job(1, "a", "fits", 2, "1", "1Gi", 1),         // 2 GPUs of a's 3
		job(2, "a", "over-quota", 2, "1", "1Gi", 1),   // 2 more: over a's quota → blocks a's queue
		job(3, "b", "other-tenant", 1, "1", "1Gi", 1), // b goes on
		job(4, "a", "small", 1, "100m", "128Mi", 0),   // would fit, but is behind over-quota
		job(5, "b", "too-big", 3, "3", "1Gi", 0),      // 3 × 3 cpu: only two nodes have 3 free → no replica placed
		job(6, "b", "behind-too-big", 1, "1", "1Gi", 0),
	}
	got := Admit(queued, usage, nodes)
	want := []struct {
		admit  bool
		reason string
	}{
		{true, ""},
		{false, "tenant quota: needs 2 nvidia.com/gpu, 1 of 3 free"},
		{true, ""},
		{false, "queued behind job over-quota"},
		{false, "cluster capacity: 3 replica(s) of cpu 3"},
		{false, "queued behind job too-big"},
	}
	if len(got) != len(want) {
		t.Fatalf("decisions = %+v", got)
	}
	for i, w := range want {
		if got[i].JobID != queued[i].ID || got[i].Admit != w.admit || !strings.Contains(got[i].Reason, w.reason) {
			t.Errorf("job %s: %+v, want admit=%v reason ~ %q", queued[i].Name, got[i], w.admit, w.reason)
		}
	}
	// The GPUs taken by "fits" and "other-tenant" (3 of 4) leave one free:
	// a 2-GPU single replica does not fit any node, a 1-GPU one does.
	left := Admit([]store.Job{job(9, "b", "two", 1, "1", "1Gi", 2)}, map[string]Usage{"b": usage["b"]}, []Node{{Name: "n1", Free: rl("2", "6Gi", 0)}, {Name: "n2", Free: rl("3", "7Gi", 1)}})
	if left[0].Admit || !strings.Contains(left[0].Reason, "cluster capacity") {
		t.Errorf("a replica needing 2 GPUs where at most 1 is free on a node: %+v", left[0])
	}
	if d := Admit([]store.Job{job(10, "c", "x", 1, "1", "1Gi", 0)}, nil, nodes); d[0].Admit || !strings.Contains(d[0].Reason, "unknown") {
		t.Errorf("a job of an unknown tenant: %+v", d[0])
	}
}

func TestAdmitSpreadsReplicasAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := []Node{{Name: "n1", Free: rl("2", "4Gi", 1)}, {Name: "n2", Free: rl("2", "4Gi", 1)}}
	usage := map[string]Usage{"a": {Quota: store.Quota{CPU: "8", Memory: "8Gi", GPU: 2}}}
	// Two 1-GPU replicas fit only one per node.
	if d := Admit([]store.Job{job(1, "a", "ddp", 2, "1", "1Gi", 1)}, usage, nodes); !d[0].Admit {
		t.Errorf("2 replicas × 1 GPU on two 1-GPU nodes: %+v", d[0])
	}
	if d := Admit([]store.Job{job(1, "a", "ddp", 3, "500m", "512Mi", 0)}, usage, []Node{{Name: "n1", Free: rl("1", "1Gi", 0)}}); d[0].Admit {
		t.Errorf("3 × 500m on a 1-cpu node was admitted: %+v", d[0])
	}
}

// TestLogsAreWrittenBesideTheirFinalPlace checks that a file bucket never
// stages a log in $TMPDIR (a rename from there fails across filesystems, as
// between a pod's /tmp and its data volume): with TMPDIR unusable, saving
// still works.
func TestLogsAreWrittenBesideTheirFinalPlace(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "does-not-exist"))
	l, err := OpenLogs(t.Context(), "file://"+filepath.Join(t.TempDir(), "blobs")+"?create_dir=true")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Save(t.Context(), Key("a", 1, 0), strings.NewReader("hello\n")); err != nil {
		t.Fatalf("save with TMPDIR unusable: %v", err)
	}
	r, ok, err := l.Open(t.Context(), Key("a", 1, 0))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "hello\n" {
		t.Errorf("read back %q", b)
	}
	if _, ok, err := l.Open(t.Context(), Key("a", 1, 1)); ok || err != nil {
		t.Errorf("a log never saved: ok %v err %v", ok, err)
	}
}
