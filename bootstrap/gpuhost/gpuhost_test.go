package gpuhost

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/internal/cdi"
)

var update = flag.Bool("update", false, "rewrite golden files")

// smi writes an nvidia-smi that prints one CSV line per GPU.
func smi(t *testing.T, gpus int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nvidia-smi")
	var out strings.Builder
	for i := range gpus {
		fmt.Fprintf(&out, "%d, NVIDIA H200, 143771, GPU-%d\n", i, i)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n/bin/cat <<'EOF'\n"+out.String()+"EOF\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// golden renders what a plan gives the nodes: the kind configuration and
// every file written, under the fixed directory /ferry-gpu.
func golden(t *testing.T, name string, p *Plan, workers int) {
	t.Helper()
	y, err := kind.ConfigYAML("ferry", workers, true, p.Mounts)
	if err != nil {
		t.Fatal(err)
	}
	got := "# why: " + p.Why + "\n# kind: " + p.Kind + "\n" + string(y)
	paths := make([]string, 0, len(p.files))
	for path := range p.files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		got += "--- " + path + "\n" + string(p.files[path])
	}
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the plan:\n%s", file, got)
	}
}

// hostSpecs is a spec directory holding the recorded NVIDIA spec, its host
// files moved under root (which stands for / in the golden files) and
// made, unless missing names one left out.
func hostSpecs(t *testing.T, root, missing string) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile("../../internal/cdi/testdata/nvidia.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec := strings.NewReplacer("hostPath: /usr/", "hostPath: "+root+"/usr/", "path: /usr/bin/nvidia-cdi-hook", "path: "+root+"/usr/bin/nvidia-cdi-hook").Replace(string(data))
	for _, f := range []string{"/usr/bin/nvidia-cdi-hook", "/usr/bin/nvidia-smi", "/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15", "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15"} {
		if f == missing {
			continue
		}
		_ = os.MkdirAll(filepath.Dir(root+f), 0o755)
		if err := os.WriteFile(root+f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "nvidia.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFakeGivesEveryNodeItsOwnDevices(t *testing.T) {
	t.Parallel()
	p, err := Prepare(context.Background(), Options{Mode: platform.GPUMode{Mode: platform.GPUFake, Count: 2}, Cluster: "ferry", Workers: 1, Dir: "/ferry-gpu"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != cdi.FakeKind || fmt.Sprint(p.Devices) != "[[ferry.io/gpu=gpu0 ferry.io/gpu=gpu1] [ferry.io/gpu=gpu0 ferry.io/gpu=gpu1]]" {
		t.Fatalf("plan %q %v", p.Kind, p.Devices)
	}
	golden(t, "fake-2node.yaml", p, 1)
}

func TestHostGPUsAreSharedOutOverTheWorkers(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p, err := Prepare(context.Background(), Options{Mode: platform.GPUMode{Mode: platform.GPUAuto}, Cluster: "ferry", Workers: 2, Dir: "/ferry-gpu",
		SMI: smi(t, 4), SpecDirs: []string{hostSpecs(t, root, "")}})
	if err != nil {
		t.Fatal(err)
	}
	// GPU k goes to worker k mod 2; the control plane gets none, and no
	// GPU is on two nodes.
	if p.Kind != cdi.NVIDIAKind || fmt.Sprint(p.Devices) != "[[] [nvidia.com/gpu=0 nvidia.com/gpu=2] [nvidia.com/gpu=1 nvidia.com/gpu=10]]" {
		t.Fatalf("plan %q %v", p.Kind, p.Devices)
	}
	if len(p.Mounts[0]) != 0 {
		t.Fatalf("the control plane mounts %v", p.Mounts[0])
	}
	p.Why = strings.ReplaceAll(p.Why, filepath.Dir(p.Why[strings.Index(p.Why, "/"):strings.Index(p.Why, " names")]), "HOST")
	for i := range p.Mounts {
		for j := range p.Mounts[i] {
			p.Mounts[i][j].HostPath = strings.TrimPrefix(p.Mounts[i][j].HostPath, root)
			p.Mounts[i][j].ContainerPath = strings.TrimPrefix(p.Mounts[i][j].ContainerPath, root)
		}
	}
	for path, data := range p.files {
		p.files[path] = []byte(strings.ReplaceAll(string(data), root, ""))
	}
	golden(t, "nvidia-3node.yaml", p, 2)
}

func TestASingleNodeClusterGetsEveryGPU(t *testing.T) {
	t.Parallel()
	p, err := Prepare(context.Background(), Options{Mode: platform.GPUMode{Mode: platform.GPUNVIDIA}, Cluster: "ferry", Dir: "/ferry-gpu",
		SMI: smi(t, 4), SpecDirs: []string{hostSpecs(t, t.TempDir(), "")}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(p.Devices) != "[[nvidia.com/gpu=0 nvidia.com/gpu=1 nvidia.com/gpu=2 nvidia.com/gpu=10]]" {
		t.Fatalf("devices %v", p.Devices)
	}
}

func TestNoUsableGPUSaysWhyInOneLineOrFailsWhenAskedFor(t *testing.T) { // not parallel: sets PATH
	ctx := context.Background()
	noSpec := []string{t.TempDir()}
	cases := []struct {
		name, smi string
		want      string
	}{
		{"no nvidia-smi", filepath.Join(t.TempDir(), "absent"), "no NVIDIA GPU on this machine"},
		{"no GPUs listed", smi(t, 0), "no NVIDIA GPU on this machine"},
		{"no CDI spec", smi(t, 1), "nvidia-ctk cdi generate"},
		{"a stale spec", smi(t, 1), "libcuda.so.550.54.15, which does not exist here"},
		{"two specs", smi(t, 1), "2 CDI specs describe nvidia.com/gpu"},
	}
	stale := []string{hostSpecs(t, t.TempDir(), "/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15")}
	two := []string{hostSpecs(t, t.TempDir(), ""), hostSpecs(t, t.TempDir(), "")}
	for _, c := range cases {
		dirs := noSpec
		switch c.name {
		case "a stale spec":
			dirs = stale
		case "two specs":
			dirs = two
		}
		o := Options{Mode: platform.GPUMode{Mode: platform.GPUAuto}, Cluster: "ferry", Workers: 1, Dir: "/ferry-gpu", SMI: c.smi, SpecDirs: dirs}
		if c.name == "no nvidia-smi" {
			o.SMI = ""
			t.Setenv("PATH", t.TempDir())
		}
		p, err := Prepare(ctx, o)
		if err != nil {
			t.Fatalf("%s, auto: %v", c.name, err)
		}
		if p.Kind != "" || len(p.Mounts) != 0 || !strings.Contains(p.Why, c.want) || strings.Contains(p.Why, "\n") {
			t.Errorf("%s, auto: kind %q mounts %v why %q, want none and one line with %q", c.name, p.Kind, p.Mounts, p.Why, c.want)
		}
		o.Mode.Mode = platform.GPUNVIDIA
		if _, err := Prepare(ctx, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s, --gpu nvidia: %v, want an error with %q", c.name, err, c.want)
		}
	}
	off, err := Prepare(ctx, Options{Mode: platform.GPUMode{Mode: platform.GPUOff}, Dir: "/ferry-gpu"})
	if err != nil || off.Kind != "" || len(off.files) != 0 {
		t.Fatalf("off: %+v %v", off, err)
	}
}

func TestWriteLeavesTheFilesTheNodesMount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Prepare(context.Background(), Options{Mode: platform.GPUMode{Mode: platform.GPUFake, Count: 1}, Cluster: "c", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // again over the first: in place
		if err := p.Write(); err != nil {
			t.Fatal(err)
		}
	}
	specs, err := cdi.Load(cdi.FakeKind, filepath.Join(dir, "node-0", "cdi"))
	if err != nil || len(specs) != 1 {
		t.Fatalf("written spec: %v %v", specs, err)
	}
	for _, m := range p.Mounts[0] {
		if _, err := os.Stat(m.HostPath); err != nil {
			t.Errorf("mount source %s: %v", m.HostPath, err)
		}
	}
	id, err := os.ReadFile(filepath.Join(dir, "node-0", "dev", "gpu0"))
	if err != nil || string(id) != "c-0-gpu0\n" {
		t.Fatalf("device file %q %v", id, err)
	}
}

func TestASpecThatWouldMountOverTheNodeIsRefused(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"/", "/etc", "/var/lib", "/var/lib/kubelet/pods", "/usr/local/bin", "/etc/cdi", "/dev/nvidia0"} {
		if err := mountable(bad); err == nil {
			t.Errorf("%s accepted as a mount source", bad)
		}
	}
	for _, ok := range []string{"/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/bin/nvidia-smi", "/usr/bin/nvidia-cdi-hook", "/opt/nvidia/lib"} {
		if err := mountable(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestAnExistingClusterKeepsWhatItsNodesWereMadeWith(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	prepare := func(mode platform.GPUMode) *Plan {
		t.Helper()
		p, err := Prepare(ctx, Options{Mode: mode, Cluster: "c", Workers: 1, Dir: dir, SMI: smi(t, 0), SpecDirs: []string{t.TempDir()}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	fake2 := platform.GPUMode{Mode: platform.GPUFake, Count: 2}
	// Made without GPUs: asking for them says to recreate; auto goes on without.
	if _, err := Existing(prepare(fake2), "c", platform.GPUFake); err == nil || !strings.Contains(err.Error(), "ferry down --name c") {
		t.Fatalf("fake on a cluster made without GPUs: %v", err)
	}
	if p, err := Existing(prepare(platform.GPUMode{Mode: platform.GPUAuto}), "c", platform.GPUAuto); err != nil || p.Kind != "" {
		t.Fatalf("auto on a cluster made without GPUs: %+v %v", p, err)
	}
	// Made with fake:2 (and a stale file of an earlier cluster of the name).
	stale := filepath.Join(dir, "node-0", "cdi", "nvidia.json")
	_ = os.MkdirAll(filepath.Dir(stale), 0o755)
	_ = os.WriteFile(stale, []byte("{}"), 0o644)
	made := prepare(fake2)
	if err := made.Write(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("a file of an earlier cluster is left in the nodes' spec directory: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "node-0", "cdi", "ferry-fake-gpu.json"))
	for _, mode := range []platform.GPUMode{fake2, {Mode: platform.GPUAuto}} {
		p, err := Existing(prepare(mode), "c", mode.Mode)
		if err != nil || p.Kind != "ferry.io/gpu" || fmt.Sprint(p.Mounts) != fmt.Sprint(made.Mounts) {
			t.Fatalf("%s on the fake:2 cluster: %+v %v, want what it was made with", mode, p, err)
		}
		if err := p.Write(); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "node-0", "cdi", "ferry-fake-gpu.json")); string(after) != string(before) {
		t.Fatal("reusing the cluster rewrote a spec its running nodes mount")
	}
	if _, err := Existing(prepare(platform.GPUMode{Mode: platform.GPUFake, Count: 3}), "c", platform.GPUFake); err == nil || !strings.Contains(err.Error(), "were made with") {
		t.Fatalf("fake:3 on the fake:2 cluster: %v", err)
	}
	if p, err := Existing(prepare(platform.GPUMode{Mode: platform.GPUOff}), "c", platform.GPUOff); err != nil || p.Kind != "" {
		t.Fatalf("off: %+v %v", p, err)
	}
}
