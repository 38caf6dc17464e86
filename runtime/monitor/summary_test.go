package monitor

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestParseSummaryGolden parses a kubelet summary (testdata/summary.json:
// containers with and without figures, a pod-level fallback, two
// accelerators) and compares with testdata/summary.golden.json.
func TestParseSummaryGolden(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pods, err := ParseSummary(f)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(pods, "", "  ")
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile("testdata/summary.golden.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/summary.golden.json")
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("parsed summary differs from the golden file:\n%s", got)
	}
	// The figures the golden file holds, stated once more by hand.
	byName := map[string]PodUsage{}
	for _, p := range pods {
		byName[p.Name] = p
	}
	if p := byName["train-0-x7k2p"]; p.CPU != 953000000 || p.Memory != 373741824 || p.GPUs != 0 {
		t.Errorf("job pod: %+v (containers' figures, not the pod cgroup's)", p)
	}
	if p := byName["fp-0123456789-prep-0-1"]; p.CPU != 15000000 || p.Memory != 4000000 {
		t.Errorf("step pod: %+v (no container figures yet: the pod cgroup's)", p)
	}
	if p := byName["gpu-0-abcde"]; p.GPU != 100 || p.GPUs != 2 || p.GPUMemory != 10000000000 || p.CPU != 1201000000 {
		t.Errorf("GPU pod: %+v", p)
	}
}

// TestParseSummaryRefusesOversizeAndBrokenInput bounds what a kubelet (or
// something posing as one) can make the control plane read.
func TestParseSummaryRefusesOversizeAndBrokenInput(t *testing.T) {
	t.Parallel()
	huge := `{"pods": [` + strings.Repeat(`{"podRef": {"name": "`+strings.Repeat("x", 1000)+`"}},`, MaxSummaryBytes/1000) + `{}]}`
	if _, err := ParseSummary(strings.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversize summary: %v", err)
	}
	if _, err := ParseSummary(strings.NewReader(`{"pods": [`)); err == nil {
		t.Error("a truncated summary parsed")
	}
	pods, err := ParseSummary(strings.NewReader(`{"node": {}}`))
	if err != nil || len(pods) != 0 {
		t.Errorf("summary without pods: %v, %v", pods, err)
	}
}
