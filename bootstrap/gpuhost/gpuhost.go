// Package gpuhost works out what a local (kind) cluster's nodes need from
// this machine to hand GPUs to pods, and writes it.
//
// A kind node is a privileged container, so it sees the host's /dev,
// /dev/nvidia* included, but not the driver's libraries and programs, and
// nothing tells its containerd what a GPU is. The Container Device Interface
// does: the NVIDIA container toolkit describes the host's GPUs in a CDI spec
// (nvidia-ctk cdi generate). Each GPU node gets the part of that spec that
// is its own (the GPUs are shared out between the worker nodes, so no GPU
// is advertised twice) in its /etc/cdi, and every host file the spec names
// mounted read-only at the same path. ferry's device plugin on the node
// advertises those devices and allocates them as CDI devices; containerd
// (2.x in ferry's node image) injects them.
//
// With --gpu fake the same path runs with a fake vendor (ferry.io/gpu):
// devices made of the node's /dev/null, an ordinary file per device from
// this machine, and an environment variable each.
package gpuhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	specs "tags.cncf.io/container-device-interface/specs-go"

	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/internal/cdi"
)

// Options are what Prepare works from.
type Options struct {
	Mode    platform.GPUMode
	Cluster string
	Workers int
	// Dir is where the nodes' files are written (kind.GPUDir).
	Dir string
	// SMI is nvidia-smi's path ("" looks it up on PATH).
	SMI string
	// SpecDirs are the host's CDI spec directories (default cdi.Dirs).
	SpecDirs []string
}

// Plan is what a cluster's nodes get.
type Plan struct {
	// Kind is the CDI kind the nodes' specs describe, which the gpu
	// chart's plugin advertises; "" when the nodes get no GPUs.
	Kind string `json:"kind"`
	// Why says in one line what was found, or why no GPU is usable.
	Why string `json:"why"`
	// Mounts are each node's extra mounts (index 0 the control plane).
	Mounts [][]v1alpha4.Mount `json:"mounts"`
	// Devices are each node's devices, by CDI name.
	Devices [][]string `json:"devices"`
	files   map[string][]byte
	dir     string
	reused  bool
}

// planFile, in the cluster's GPU directory, records what its nodes were
// made with: kind cannot change a node's mounts, so a later `ferry up`
// keeps to it.
const planFile = "plan.json"

// Prepare works out the plan; it writes nothing (see Write). Asking for
// NVIDIA GPUs where none can be used is an error that says what to install
// or run; auto then means no GPUs, with the reason in Why.
func Prepare(ctx context.Context, o Options) (*Plan, error) {
	if o.Workers < 0 {
		return nil, fmt.Errorf("workers %d: must be 0 or more", o.Workers)
	}
	if len(o.SpecDirs) == 0 {
		o.SpecDirs = cdi.Dirs
	}
	nodes := 1 + o.Workers
	p := &Plan{Mounts: make([][]v1alpha4.Mount, nodes), Devices: make([][]string, nodes), files: map[string][]byte{}, dir: o.Dir}
	switch o.Mode.Mode {
	case platform.GPUOff:
		p.Why = "--gpu off"
		return p, nil
	case platform.GPUFake:
		return p, p.fake(o, nodes)
	case platform.GPUNVIDIA, platform.GPUAuto, "":
	default:
		return nil, fmt.Errorf("unknown GPU mode %q", o.Mode.Mode)
	}
	why, err := p.nvidia(ctx, o, nodes)
	if err != nil {
		return nil, err
	}
	if why != "" {
		if o.Mode.Mode == platform.GPUNVIDIA {
			return nil, fmt.Errorf("--gpu nvidia: %s", why)
		}
		*p = Plan{Why: why, dir: o.Dir}
	}
	return p, nil
}

// fake gives every node Count fake devices.
func (p *Plan) fake(o Options, nodes int) error {
	p.Kind = cdi.FakeKind
	for i := range nodes {
		dir := filepath.Join(o.Dir, fmt.Sprintf("node-%d", i))
		s, files, err := cdi.FakeSpec(filepath.Join(dir, "dev"), fmt.Sprintf("%s-%d", o.Cluster, i), o.Mode.Count)
		if err != nil {
			return err
		}
		for path, data := range files {
			p.files[path] = data
		}
		p.addNode(i, dir, "ferry-fake-gpu.json", s, []string{filepath.Join(dir, "dev")})
	}
	p.Why = fmt.Sprintf("fake CDI vendor %s, %d device(s) on each of %d node(s)", cdi.FakeKind, o.Mode.Count, nodes)
	return nil
}

// nvidia shares the host's GPUs out between the GPU nodes. It returns why
// no GPU can be used ("" when they can).
func (p *Plan) nvidia(ctx context.Context, o Options, nodes int) (string, error) {
	gpus, err := platform.DetectNVIDIA(ctx, o.SMI)
	if err != nil {
		return "", err
	}
	if len(gpus) == 0 {
		return "no NVIDIA GPU on this machine (nvidia-smi is not on PATH or lists none)", nil
	}
	found, err := cdi.Load(cdi.NVIDIAKind, o.SpecDirs...)
	if err != nil {
		return "", err
	}
	regenerate := "run `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml` (NVIDIA container toolkit)"
	names := cdi.Devices(found)
	if len(names) == 0 {
		return fmt.Sprintf("nvidia-smi lists %d GPU(s), but no CDI spec in %s describes %s devices: %s",
			len(gpus), strings.Join(o.SpecDirs, " or "), cdi.NVIDIAKind, regenerate), nil
	}
	if len(found) > 1 {
		// Each file's shared edits (libraries, hooks) go with its own
		// devices; two files are two driver set-ups, one of them stale.
		var files []string
		for _, s := range found {
			files = append(files, s.Path)
		}
		return fmt.Sprintf("%d CDI specs describe %s (%s): keep the one of the loaded driver, or %s", len(found), cdi.NVIDIAKind, strings.Join(files, ", "), regenerate), nil
	}
	// Workers get the GPUs when there are any, so the control plane keeps
	// its own resources; GPU k goes to GPU node k mod n.
	gpuNodes := []int{0}
	if nodes > 1 {
		gpuNodes = gpuNodes[:0]
		for i := 1; i < nodes; i++ {
			gpuNodes = append(gpuNodes, i)
		}
	}
	share := make([][]string, nodes)
	for k, name := range names {
		n := gpuNodes[k%len(gpuNodes)]
		share[n] = append(share[n], name)
	}
	p.Kind = cdi.NVIDIAKind
	for i, mine := range share {
		if len(mine) == 0 {
			continue
		}
		s, err := cdi.Keep(cdi.NVIDIAKind, found, mine)
		if err != nil {
			return "", err
		}
		paths := cdi.HostPaths(s)
		for _, h := range paths {
			if err := mountable(h); err != nil {
				return "", fmt.Errorf("CDI spec %s: %w", found[0].Path, err)
			}
			// Docker makes a missing mount source an empty directory.
			if _, err := os.Stat(h); err != nil {
				return fmt.Sprintf("CDI spec %s names %s, which does not exist here (a driver update since it was written?): %s", found[0].Path, h, regenerate), nil
			}
		}
		p.addNode(i, filepath.Join(o.Dir, fmt.Sprintf("node-%d", i)), "nvidia.json", s, paths)
	}
	var files []string
	for _, s := range found {
		files = append(files, s.Path)
	}
	p.Why = fmt.Sprintf("nvidia-smi lists %d GPU(s), first %s; CDI spec %s names %d device(s), shared out over %d node(s)",
		len(gpus), gpus[0].Name, strings.Join(files, ", "), len(names), len(gpuNodes))
	return "", nil
}

// addNode gives node i spec s (written as dir/cdi/file, mounted at the
// node's /etc/cdi) and the host paths, mounted at the same paths.
func (p *Plan) addNode(i int, dir, file string, s *specs.Spec, hostPaths []string) {
	data, err := cdi.Encode(s)
	if err != nil { // a spec built from parsed values always encodes
		panic(err)
	}
	p.files[filepath.Join(dir, "cdi", file)] = data
	p.Mounts[i] = append(p.Mounts[i], v1alpha4.Mount{HostPath: filepath.Join(dir, "cdi"), ContainerPath: "/etc/cdi", Readonly: true})
	for _, h := range hostPaths {
		p.Mounts[i] = append(p.Mounts[i], v1alpha4.Mount{HostPath: h, ContainerPath: h, Readonly: true})
	}
	for _, d := range s.Devices {
		p.Devices[i] = append(p.Devices[i], cdi.Qualified(s.Kind, d.Name))
	}
}

// nodePaths are a kind node's own: a spec that names one of them, or a
// directory above one, would mount over what the node runs on.
var nodePaths = []string{"/etc/cdi", "/var/run/cdi", "/run/cdi", "/var/lib/kubelet", "/var/lib/containerd", "/run/containerd",
	"/etc/kubernetes", "/etc/containerd", "/kind", "/proc", "/sys", "/dev", "/usr/local/bin/kubelet", "/usr/local/bin/containerd", "/etc/passwd"}

// mountable refuses a host path that is, or holds, one of the node's own.
func mountable(path string) error {
	clean := filepath.Clean(path)
	if clean == "/" {
		return errors.New("names / as a mount source; ferry refuses to mount it into the nodes")
	}
	for _, n := range nodePaths {
		if clean == n || strings.HasPrefix(n, clean+"/") || strings.HasPrefix(clean, n+"/") {
			return fmt.Errorf("names %s as a mount source, which is or holds the node's own %s; ferry refuses to mount it into the nodes", clean, n)
		}
	}
	return nil
}

// Existing turns the plan for a cluster that exists into what its nodes
// were made with (see planFile), for --gpu mode. Asking for GPUs (nvidia
// or fake) that the nodes were not made with is an error with the fix;
// auto keeps to what the nodes have; off removes the gpu chart whatever
// they have. The result writes nothing.
func Existing(want *Plan, cluster, mode string) (*Plan, error) {
	if mode == platform.GPUOff {
		return want, nil
	}
	explicit := mode == platform.GPUNVIDIA || mode == platform.GPUFake
	had, err := Stored(want.dir)
	if err != nil {
		return nil, err
	}
	recreate := fmt.Sprintf("kind cannot change a node's mounts: `ferry down --name %s`, then `ferry up` with the --gpu you want", cluster)
	switch {
	case had == nil && want.Kind == "":
		return want, nil
	case had == nil && explicit:
		return nil, fmt.Errorf("cluster %s exists and its nodes were made without GPUs (%s); %s", cluster, want.Why, recreate)
	case had == nil:
		return &Plan{Why: "the cluster's nodes were made without GPU mounts (" + recreate + ")", reused: true}, nil
	case explicit && (had.Kind != want.Kind || fmt.Sprint(had.Devices) != fmt.Sprint(want.Devices)):
		return nil, fmt.Errorf("cluster %s exists and its nodes were made with %s, not %s; %s", cluster, had.Why, want.Why, recreate)
	}
	had.reused, had.dir = true, want.dir
	had.Why = "as the nodes were made: " + had.Why
	return had, nil
}

// Stored reads the plan a cluster's nodes were made with (nil: none).
func Stored(dir string) (*Plan, error) {
	data, err := os.ReadFile(filepath.Join(dir, planFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, planFile), err)
	}
	return &p, nil
}

// Write writes the nodes' files for a cluster about to be made: the
// directory is emptied first (no node mounts it yet), so nothing of an
// earlier cluster of the same name is left. A reused plan writes nothing:
// running nodes have its files mounted.
func (p *Plan) Write() error {
	if p.reused || p.Kind == "" {
		return nil
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return err
	}
	record, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{filepath.Join(p.dir, planFile): append(record, '\n')}
	for path, data := range p.files {
		files[path] = data
	}
	for path, data := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}
