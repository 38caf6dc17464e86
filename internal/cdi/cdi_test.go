package cdi

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "tags.cncf.io/container-device-interface/specs-go"
)

func TestLoadReadsTheKindsSpecsInYAMLAndJSON(t *testing.T) {
	t.Parallel()
	etc, run := t.TempDir(), t.TempDir()
	copyFile(t, "testdata/nvidia.yaml", filepath.Join(etc, "nvidia.yaml"))
	fake, _, err := FakeSpec("/x", "n", 2)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(fake)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(run, "fake.json"), string(data))
	writeFile(t, filepath.Join(run, "notes.txt"), "not a spec")

	got, err := Load(NVIDIAKind, etc, run, filepath.Join(t.TempDir(), "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Path != filepath.Join(etc, "nvidia.yaml") || len(got[0].Devices) != 6 {
		t.Fatalf("nvidia specs: %+v", got)
	}
	got, err = Load(FakeKind, etc, run)
	if err != nil || len(got) != 1 || len(got[0].Devices) != 2 {
		t.Fatalf("fake specs: %+v %v", got, err)
	}
}

func TestABrokenSpecOfTheKindIsAnErrorNamingTheFile(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"broken.yaml":    "cdiVersion: [\nkind: a.com/gpu\n",
		"version.json":   `{"cdiVersion":"9.9.9","kind":"a.com/gpu","devices":[]}`,
		"replica.json":   `{"cdiVersion":"0.5.0","kind":"a.com/gpu","devices":[{"name":"a::1","containerEdits":{}}]}`,
		"badname.json":   `{"cdiVersion":"0.5.0","kind":"a.com/gpu","devices":[{"name":"../x","containerEdits":{}}]}`,
		"twice.json":     `{"cdiVersion":"0.5.0","kind":"a.com/gpu","devices":[{"name":"0","containerEdits":{}},{"name":"0","containerEdits":{}}]}`,
		"oversized.json": `{"cdiVersion":"0.5.0","kind":"a.com/gpu","devices":[],"annotations":{"x":"` + strings.Repeat("a", maxSpecBytes) + `"}}`,
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, name), body)
		if _, err := Load("a.com/gpu", dir); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
}

func TestOtherFilesInTheSpecDirectoriesAreSkipped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, "testdata/nvidia.yaml", filepath.Join(dir, "nvidia.yaml"))
	writeFile(t, filepath.Join(dir, "garbage.yaml"), "cdiVersion: [")
	writeFile(t, filepath.Join(dir, "other.json"), `{"cdiVersion":"9.9.9","kind":"vendor.example/fpga","devices":[]}`)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	got, err := Load(NVIDIAKind, dir)
	if err != nil || len(got) != 1 {
		t.Fatalf("Load = %v, %v; want the one nvidia spec, the rest skipped (and no hang on the FIFO)", got, err)
	}
}

func TestDevicesAreInNaturalOrderWithoutAllOrUUIDDuplicates(t *testing.T) {
	t.Parallel()
	s, err := ReadFile("testdata/nvidia.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := Devices([]*Spec{s}); !slices.Equal(got, []string{"0", "1", "2", "10"}) {
		t.Fatalf("devices %q, want 0 1 2 10 (no all, no UUID twin)", got)
	}
	// Named by UUID only: those are the devices.
	byUUID := &Spec{Spec: specs.Spec{Devices: []specs.Device{{Name: "GPU-b"}, {Name: "all"}, {Name: "GPU-a"}}}}
	if got := Devices([]*Spec{byUUID}); !slices.Equal(got, []string{"GPU-a", "GPU-b"}) {
		t.Fatalf("UUID-only devices %q", got)
	}
}

func TestKeepHoldsOnlyTheNamedDevicesAndTheSharedEdits(t *testing.T) {
	t.Parallel()
	s, err := ReadFile("testdata/nvidia.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := Keep(NVIDIAKind, []*Spec{s}, []string{"2", "0"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range kept.Devices {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"2", "0"}) || kept.Kind != NVIDIAKind || kept.Version == "" || len(kept.ContainerEdits.Mounts) != 4 {
		t.Fatalf("kept %+v", kept)
	}
	if err := specs.ValidateVersion(kept); err != nil {
		t.Fatal(err)
	}
	if _, err := Keep(NVIDIAKind, []*Spec{s}, []string{"7"}); err == nil || !strings.Contains(err.Error(), `"7"`) {
		t.Fatalf("an unknown device: %v", err)
	}
}

func TestHostPathsAreTheMountSourcesAndHookPrograms(t *testing.T) {
	t.Parallel()
	s, err := ReadFile("testdata/nvidia.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/bin/nvidia-cdi-hook", "/usr/bin/nvidia-smi", "/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15", "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15"}
	if got := HostPaths(&s.Spec); !slices.Equal(got, want) {
		t.Fatalf("host paths %q, want %q", got, want)
	}
}

func TestTheFakeVendorGivesEachDeviceItsOwnNodeFileAndVariable(t *testing.T) {
	t.Parallel()
	s, files, err := FakeSpec("/var/g/dev", "c-1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != FakeKind || len(s.Devices) != 2 || len(files) != 2 {
		t.Fatalf("spec %+v files %v", s, files)
	}
	d := s.Devices[1].ContainerEdits
	if d.Env[0] != "FERRY_GPU_1=c-1-gpu1" || d.DeviceNodes[0].Path != "/dev/ferry-gpu1" || d.DeviceNodes[0].HostPath != "/dev/null" ||
		d.Mounts[0].HostPath != "/var/g/dev/gpu1" || d.Mounts[0].ContainerPath != "/run/ferry-gpu/gpu1" || string(files["/var/g/dev/gpu1"]) != "c-1-gpu1\n" {
		t.Fatalf("device 1: %+v %+v %+v", d, d.DeviceNodes[0], d.Mounts[0])
	}
	if err := specs.ValidateVersion(s); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		dir   string
		count int
	}{{"/x", 0}, {"/x", 129}, {"relative", 1}} {
		if _, _, err := FakeSpec(bad.dir, "n", bad.count); err == nil {
			t.Errorf("FakeSpec(%q, %d) accepted", bad.dir, bad.count)
		}
	}
}

func TestValidKindWantsADomainVendorAndAClass(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"nvidia.com/gpu", "ferry.io/gpu", "example.com/fpga-x"} {
		if err := ValidKind(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "gpu", "nvidia/gpu", "nvidia.com/", "nvidia.com/gpu/x", "a.com/gp u", "-a.com/gpu"} {
		if err := ValidKind(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(data))
}
