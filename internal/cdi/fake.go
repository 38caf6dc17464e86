package cdi

import (
	"fmt"
	"path/filepath"

	specs "tags.cncf.io/container-device-interface/specs-go"
)

// FakeDeviceEnv is the variable a container handed fake GPU K gets, as
// FakeDeviceEnv+K, holding the device's ID.
const FakeDeviceEnv = "FERRY_GPU_"

// FakeSpec is a fake GPU vendor's spec for one node, and the files it names
// (path to content), which the caller writes into dir: count devices gpu0..gpuN-1, each a character device
// /dev/ferry-gpuK in the container (made from the node's /dev/null), an
// ordinary file from dir mounted read-only at /run/ferry-gpu/gpuK holding
// the device's ID, and FERRY_GPU_K=<ID> in the environment. Nothing of it
// reaches a container that is not handed the device, so a test can see
// exactly which devices a pod got. id names the node in the IDs.
func FakeSpec(dir, id string, count int) (*specs.Spec, map[string][]byte, error) {
	if count < 1 || count > 128 {
		return nil, nil, fmt.Errorf("fake GPU count %d: must be from 1 to 128", count)
	}
	if !filepath.IsAbs(dir) {
		return nil, nil, fmt.Errorf("fake GPU directory %q: must be absolute (the kind node mounts it at the same path)", dir)
	}
	files := map[string][]byte{}
	s := &specs.Spec{Kind: FakeKind, Annotations: map[string]string{"ferry.io/fake": "true"}}
	s.ContainerEdits.Env = []string{"FERRY_FAKE_GPU=1"}
	for k := range count {
		name := fmt.Sprintf("gpu%d", k)
		devID := fmt.Sprintf("%s-%s", id, name)
		file := filepath.Join(dir, name)
		files[file] = []byte(devID + "\n")
		s.Devices = append(s.Devices, specs.Device{Name: name, ContainerEdits: specs.ContainerEdits{
			Env:         []string{fmt.Sprintf("%s%d=%s", FakeDeviceEnv, k, devID)},
			DeviceNodes: []*specs.DeviceNode{{Path: "/dev/ferry-" + name, HostPath: "/dev/null", Type: "c", Permissions: "rw"}},
			Mounts:      []*specs.Mount{{HostPath: file, ContainerPath: "/run/ferry-gpu/" + name, Options: []string{"ro", "nosuid", "nodev", "bind"}}},
		}})
	}
	v, err := specs.MinimumRequiredVersion(s)
	if err != nil {
		return nil, nil, err
	}
	s.Version = v
	return s, files, nil
}
