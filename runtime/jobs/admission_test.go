package jobs

import (
	"strings"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

func TestAdmitMarksJobsThatCanNeverFitInadmissibleWithoutBlockingTheQueue(t *testing.T) {
	t.Parallel()
	nodes := []Node{
		{Name: "n1", Free: rl("1", "2Gi", 0), Allocatable: rl("4", "8Gi", 1)},
		{Name: "n2", Free: rl("2", "4Gi", 0), Allocatable: rl("4", "8Gi", 1)},
	}
	usage := map[string]Usage{"a": {Quota: store.Quota{CPU: "8", Memory: "16Gi", GPU: 1}, Used: rl("0", "0", 0)}}
	queued := []store.Job{
		job(1, "a", "over-whole-quota", 3, "3", "1Gi", 0), // 9 cpu > the tenant's 8, ever
		job(2, "a", "bigger-than-any-node", 1, "6", "1Gi", 0),
		job(3, "a", "gpu-beyond-quota", 2, "1", "1Gi", 1),
		job(4, "a", "fits", 1, "1", "1Gi", 0),
		job(5, "a", "waits-for-room", 1, "4", "1Gi", 0), // fits a node's allocatable, not its free now
		job(6, "a", "behind", 1, "100m", "128Mi", 0),
	}
	got := Admit(queued, usage, nodes)
	want := []struct {
		admit, inadmissible bool
		reason              string
	}{
		{false, true, v1.JobReasonInadmissible + "more than the whole tenant quota: needs 9 cpu"},
		{false, true, v1.JobReasonInadmissible + "one replica (cpu 6"},
		{false, true, v1.JobReasonInadmissible + "more than the whole tenant quota: needs 2 nvidia.com/gpu"},
		{true, false, ""},
		{false, false, "cluster capacity"},
		{false, false, "queued behind job waits-for-room"},
	}
	if len(got) != len(want) {
		t.Fatalf("decisions = %+v", got)
	}
	for i, w := range want {
		if got[i].JobID != queued[i].ID || got[i].Admit != w.admit || got[i].Inadmissible != w.inadmissible || !strings.HasPrefix(got[i].Reason, w.reason) {
			t.Errorf("job %s: %+v, want admit=%v inadmissible=%v reason %q...", queued[i].Name, got[i], w.admit, w.inadmissible, w.reason)
		}
	}
	// Without the nodes' allocatable (or without nodes) nothing is judged
	// too large for the cluster.
	for _, ns := range [][]Node{nil, {{Name: "n1", Free: rl("1", "2Gi", 0)}}} {
		if d := Admit([]store.Job{job(7, "a", "big", 1, "6", "1Gi", 0)}, usage, ns); d[0].Inadmissible {
			t.Errorf("nodes %v: %+v", ns, d[0])
		}
	}
	// A quota lowered below a queued job makes it inadmissible; raised, it runs.
	low := map[string]Usage{"a": {Quota: store.Quota{CPU: "500m", Memory: "16Gi"}, Used: rl("0", "0", 0)}}
	if d := Admit([]store.Job{job(8, "a", "j", 1, "1", "1Gi", 0)}, low, nodes); !d[0].Inadmissible {
		t.Errorf("under a lowered quota: %+v", d[0])
	}
	if d := Admit([]store.Job{job(8, "a", "j", 1, "1", "1Gi", 0)}, usage, nodes); !d[0].Admit {
		t.Errorf("under the raised quota: %+v", d[0])
	}
}
