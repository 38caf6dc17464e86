package doctor

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// script writes an executable shell script.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// spec writes an NVIDIA CDI spec for gpus devices whose device nodes and
// library are files under dir (missing names one that does not exist).
func spec(t *testing.T, dir string, gpus int, missing bool) string {
	t.Helper()
	specDir := filepath.Join(dir, "cdi")
	_ = os.MkdirAll(specDir, 0o755)
	lib := filepath.Join(dir, "libcuda.so.1")
	_ = os.WriteFile(lib, nil, 0o644)
	if missing {
		lib += ".gone"
	}
	var devs []string
	for i := range gpus {
		node := filepath.Join(dir, "nvidia"+string(rune('0'+i)))
		_ = os.WriteFile(node, nil, 0o644)
		devs = append(devs, `{"name":"`+string(rune('0'+i))+`","containerEdits":{"deviceNodes":[{"path":"`+node+`"}]}}`)
	}
	body := `{"cdiVersion":"0.5.0","kind":"nvidia.com/gpu","devices":[` + strings.Join(devs, ",") + `],` +
		`"containerEdits":{"mounts":[{"hostPath":"` + lib + `","containerPath":"/usr/lib/libcuda.so.1"}]}}`
	if err := os.WriteFile(filepath.Join(specDir, "nvidia.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return specDir
}

func TestGPUChecksSayWhatToInstallOrRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	twoGPUs := script(t, dir, "nvidia-smi", "echo '0, NVIDIA H200, 143771, GPU-a'; echo '1, NVIDIA H200, 143771, GPU-b'")
	broken := script(t, dir, "nvidia-smi-broken", "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver' >&2; exit 9")
	ctk := script(t, dir, "nvidia-ctk", "true")
	cases := []struct {
		name  string
		o     Options
		check string
		level Level
		want  string
	}{
		{"no driver", Options{SMI: "", CDIDirs: []string{dir}}, CheckNVIDIADriver, OK, "no nvidia-smi"},
		{"driver not loaded", Options{SMI: broken}, CheckNVIDIADriver, Warn, "could not communicate"},
		{"no toolkit", Options{SMI: twoGPUs, NvidiaCTK: "", CDIDirs: []string{spec(t, t.TempDir(), 2, false)}}, CheckNVIDIAToolkit, Warn, "nvidia-ctk"},
		{"no spec", Options{SMI: twoGPUs, NvidiaCTK: ctk, CDIDirs: []string{t.TempDir()}}, CheckNVIDIACDI, Warn, "no CDI spec"},
		{"spec of fewer GPUs", Options{SMI: twoGPUs, NvidiaCTK: ctk, CDIDirs: []string{spec(t, t.TempDir(), 1, false)}}, CheckNVIDIACDI, Warn, "names 1 GPU(s), nvidia-smi lists 2"},
		{"spec names a missing file", Options{SMI: twoGPUs, NvidiaCTK: ctk, CDIDirs: []string{spec(t, t.TempDir(), 2, true)}}, CheckNVIDIACDI, Warn, ".gone, which does not exist"},
		{"all set", Options{SMI: twoGPUs, NvidiaCTK: ctk, CDIDirs: []string{spec(t, t.TempDir(), 2, false)}}, CheckNVIDIACDI, OK, "2 GPU(s), every file it names exists"},
	}
	for _, c := range cases {
		if c.name == "no driver" && lookable("nvidia-smi") {
			continue // a machine with a real driver
		}
		got := find(gpus(t.Context(), c.o), c.check)
		if got.Level != c.level || !strings.Contains(got.Detail, c.want) {
			t.Errorf("%s: %s is %+v, want %s with %q", c.name, c.check, got, c.level, c.want)
		}
		if got.Level == Warn && got.Fix == "" {
			t.Errorf("%s: a warning without a fix", c.name)
		}
		if got.Level == Fail {
			t.Errorf("%s: a GPU check failed the host; GPUs are optional", c.name)
		}
	}
	if got := find(gpus(t.Context(), Options{SMI: twoGPUs, NvidiaCTK: ctk, CDIDirs: []string{t.TempDir()}}), CheckNVIDIADriver); !strings.Contains(got.Detail, "2 GPU(s): 0 NVIDIA H200") {
		t.Errorf("driver check: %+v", got)
	}
}

func lookable(name string) bool { _, err := exec.LookPath(name); return err == nil }
