package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	specs "tags.cncf.io/container-device-interface/specs-go"

	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/internal/cdi"
)

// GPU check names.
const (
	CheckNVIDIADriver  = "NVIDIA driver"
	CheckNVIDIAToolkit = "NVIDIA container toolkit"
	CheckNVIDIACDI     = "NVIDIA CDI spec"
)

// gpus checks what a local cluster needs to hand this machine's NVIDIA
// GPUs to pods: the driver (nvidia-smi lists the GPUs), the container
// toolkit (nvidia-ctk, which writes the CDI spec) and a CDI spec that
// describes every GPU with files that exist. No GPU is no failure: the
// cluster then has none (and --gpu fake:N tests GPU work without one), so
// these checks warn at most; `ferry up --gpu nvidia` refuses to go on.
// Docker needs no NVIDIA runtime: kind nodes are privileged containers and
// see the host's /dev; the spec's files are mounted into them.
func gpus(ctx context.Context, o Options) []Check {
	driver := Check{Name: CheckNVIDIADriver, Level: OK}
	smi := o.SMI
	if smi == "" {
		if p, err := exec.LookPath("nvidia-smi"); err == nil {
			smi = p
		}
	}
	if smi == "" {
		driver.Detail = "no nvidia-smi: the local cluster gets no GPU (--gpu fake:N tests GPU work without one)"
		return []Check{driver}
	}
	found, err := platform.DetectNVIDIA(ctx, smi)
	if err != nil {
		driver.Level, driver.Detail = Warn, err.Error()
		driver.Fix = "load the NVIDIA driver (nvidia-smi must list the GPUs; a reboot after installing it, or modprobe nvidia)"
		return []Check{driver}
	}
	if len(found) == 0 {
		driver.Detail = "nvidia-smi lists no GPU: the local cluster gets none"
		return []Check{driver}
	}
	var names []string
	for _, g := range found {
		names = append(names, fmt.Sprintf("%d %s (%d MiB)", g.Index, g.Name, g.MemoryMiB))
	}
	driver.Detail = fmt.Sprintf("%d GPU(s): %s", len(found), strings.Join(names, ", "))

	toolkit := Check{Name: CheckNVIDIAToolkit, Level: OK}
	ctk := o.NvidiaCTK
	if ctk == "" {
		ctk, _ = exec.LookPath("nvidia-ctk")
	}
	if ctk == "" {
		toolkit.Level, toolkit.Detail = Warn, "nvidia-ctk is not on PATH"
		toolkit.Fix = "install the NVIDIA container toolkit (package nvidia-container-toolkit from NVIDIA's repository); Docker needs no NVIDIA runtime for ferry"
	} else {
		toolkit.Detail = "nvidia-ctk at " + ctk
	}
	return []Check{driver, toolkit, cdiSpec(o, len(found))}
}

// cdiSpec checks the host's NVIDIA CDI spec against the GPUs listed.
func cdiSpec(o Options, listed int) Check {
	c := Check{Name: CheckNVIDIACDI}
	dirs := o.CDIDirs
	if len(dirs) == 0 {
		dirs = cdi.Dirs
	}
	generate := "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml (again after every driver update)"
	found, err := cdi.Load(cdi.NVIDIAKind, dirs...)
	if err != nil {
		c.Level, c.Detail, c.Fix = Warn, err.Error(), generate
		return c
	}
	devices := cdi.Devices(found)
	if len(devices) == 0 {
		c.Level, c.Detail, c.Fix = Warn, "no CDI spec in "+strings.Join(dirs, " or ")+" describes nvidia.com/gpu devices: the cluster's nodes cannot get the GPUs", generate
		return c
	}
	if len(devices) < listed {
		c.Level, c.Detail, c.Fix = Warn, fmt.Sprintf("the CDI spec names %d GPU(s), nvidia-smi lists %d", len(devices), listed), generate
		return c
	}
	s, err := cdi.Keep(cdi.NVIDIAKind, found, devices)
	if err != nil {
		c.Level, c.Detail, c.Fix = Warn, err.Error(), generate
		return c
	}
	for _, p := range append(cdi.HostPaths(s), deviceNodes(s)...) {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			c.Level, c.Detail, c.Fix = Warn, "the CDI spec names "+p+", which does not exist (a driver update since it was written?)", generate
			return c
		}
	}
	var files []string
	for _, f := range found {
		files = append(files, f.Path)
	}
	c.Level, c.Detail = OK, fmt.Sprintf("%s: %d GPU(s), every file it names exists", strings.Join(files, ", "), len(devices))
	return c
}

func deviceNodes(s *specs.Spec) []string {
	var out []string
	add := func(e specs.ContainerEdits) {
		for _, d := range e.DeviceNodes {
			if d.HostPath != "" {
				out = append(out, d.HostPath)
			} else {
				out = append(out, d.Path)
			}
		}
	}
	add(s.ContainerEdits)
	for _, d := range s.Devices {
		add(d.ContainerEdits)
	}
	return out
}
