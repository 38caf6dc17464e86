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
	Kind string
	// Why says in one line what was found, or why no GPU is usable.
	Why string
	// Mounts are each node's extra mounts (index 0 the control plane).
	Mounts [][]v1alpha4.Mount
	// Devices are each node's devices, by CDI name.
	Devices [][]string
	files   map[string][]byte
}

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
	p := &Plan{Mounts: make([][]v1alpha4.Mount, nodes), Devices: make([][]string, nodes), files: map[string][]byte{}}
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
		*p = Plan{Why: why, Mounts: p.Mounts[:0], Devices: p.Devices[:0]}
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
	names := cdi.Devices(found)
	if len(names) == 0 {
		return fmt.Sprintf("nvidia-smi lists %d GPU(s), but no CDI spec in %s describes %s devices: install the NVIDIA container toolkit and run `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`",
			len(gpus), strings.Join(o.SpecDirs, " or "), cdi.NVIDIAKind), nil
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
		p.addNode(i, filepath.Join(o.Dir, fmt.Sprintf("node-%d", i)), "nvidia.json", s, cdi.HostPaths(s))
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

// Write writes the nodes' files. It rewrites them in place (a running
// node's mounts keep pointing at the same directories).
func (p *Plan) Write() error {
	for path, data := range p.files {
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
