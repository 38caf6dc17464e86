// Package cdi reads and writes Container Device Interface specs
// (github.com/cncf-tags/container-device-interface), the files through which
// a container runtime learns what a device is: the device nodes, mounts,
// environment and hooks a container that is handed the device gets.
//
// ferry uses them both ways. On the host, `ferry up` reads the NVIDIA
// toolkit's spec (nvidia-ctk cdi generate), or writes a fake vendor's, and
// gives each kind node the part of it that is that node's. On the node,
// ferry's device plugin advertises the devices its node's specs name and
// allocates them as CDI devices, which containerd then injects.
package cdi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
	specs "tags.cncf.io/container-device-interface/specs-go"
)

// Dirs are the spec directories runtimes read, lowest priority first: a
// spec in /var/run/cdi overrides one of the same kind and device in /etc/cdi.
var Dirs = []string{"/etc/cdi", "/var/run/cdi"}

// NVIDIAKind is the kind the NVIDIA container toolkit's specs describe.
const NVIDIAKind = "nvidia.com/gpu"

// FakeKind is the kind of ferry's fake GPU vendor.
const FakeKind = "ferry.io/gpu"

// maxSpecBytes bounds a spec file read; real ones are a few KiB.
const maxSpecBytes = 4 << 20

var (
	vendorRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$`)
	classRE  = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$`)
	deviceRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.:-]*[a-zA-Z0-9])?$`)
)

// ValidKind checks a kind ("vendor/class") as CDI defines it.
func ValidKind(kind string) error {
	vendor, class, ok := strings.Cut(kind, "/")
	if !ok || !vendorRE.MatchString(vendor) || !strings.Contains(vendor, ".") || !classRE.MatchString(class) {
		return fmt.Errorf("CDI kind %q: want vendor/class, the vendor a domain (e.g. nvidia.com/gpu)", kind)
	}
	return nil
}

// Spec is one spec file as read.
type Spec struct {
	Path string
	specs.Spec
}

// Load reads the specs of kind in dirs (.json and .yaml regular files; a
// missing directory is no spec). A spec of that kind that is not valid (it
// does not parse, names a device twice or badly) is an error naming the
// file; files of other kinds, and files that are no spec at all, are
// skipped, so another vendor's spec cannot stop this one's devices.
func Load(kind string, dirs ...string) ([]*Spec, error) {
	var out []*Spec
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".json" && ext != ".yaml" && ext != ".yml") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
				continue // a FIFO would block the read; a dangling link is nothing
			}
			s, err := ReadFile(path)
			if err != nil {
				if peekKind(path) == kind {
					return nil, err
				}
				continue
			}
			if s.Kind == kind {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// ReadFile parses one spec file (JSON or YAML) and checks its kind, version
// and device names.
func ReadFile(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("CDI spec %s: %w", path, err)
	}
	if len(data) > maxSpecBytes {
		return nil, fmt.Errorf("CDI spec %s: larger than %d bytes", path, maxSpecBytes)
	}
	s := &Spec{Path: path}
	if err := yaml.Unmarshal(data, &s.Spec); err != nil {
		return nil, fmt.Errorf("CDI spec %s: %w", path, err)
	}
	if err := ValidKind(s.Kind); err != nil {
		return nil, fmt.Errorf("CDI spec %s: %w", path, err)
	}
	if err := specs.ValidateVersion(&s.Spec); err != nil {
		return nil, fmt.Errorf("CDI spec %s: %w", path, err)
	}
	seen := map[string]bool{}
	for _, d := range s.Devices {
		// "::" separates a device from its time-slicing replica in the
		// IDs the device plugin advertises.
		if !deviceRE.MatchString(d.Name) || strings.Contains(d.Name, "::") {
			return nil, fmt.Errorf("CDI spec %s: device name %q is not a valid CDI device name", path, d.Name)
		}
		if seen[d.Name] {
			return nil, fmt.Errorf("CDI spec %s: device %q named twice", path, d.Name)
		}
		seen[d.Name] = true
	}
	return s, nil
}

// Devices are the names of the devices the specs describe, in natural
// order ("2" before "10"), without the "all" device the NVIDIA toolkit adds
// and, where devices are named both by index and by UUID (the toolkit's
// --device-name-strategy=index,uuid), only those named by index: the same
// GPU must not be advertised twice.
func Devices(in []*Spec) []string {
	indexed := slices.ContainsFunc(in, hasIndexNames)
	seen := map[string]bool{}
	var names []string
	for _, s := range in {
		for _, d := range s.Devices {
			uuid := strings.HasPrefix(d.Name, "GPU-") || strings.HasPrefix(d.Name, "MIG-")
			if d.Name == "all" || (indexed && uuid) || seen[d.Name] {
				continue
			}
			seen[d.Name] = true
			names = append(names, d.Name)
		}
	}
	SortNatural(names)
	return names
}

// peekKind is the kind a file says it describes, read leniently ("" when
// it says none).
func peekKind(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSpecBytes))
	if err != nil {
		return ""
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if yaml.Unmarshal(data, &head) == nil {
		return head.Kind
	}
	// Too long or broken: the kind line as written, if there is one.
	if m := kindLine.FindSubmatch(data); m != nil {
		return string(append(m[1], m[2]...))
	}
	return ""
}

var kindLine = regexp.MustCompile(`(?m)"kind"\s*:\s*"([^"]+)"|^kind:\s*['"]?([^'"\s]+)`)

func hasIndexNames(s *Spec) bool {
	return slices.ContainsFunc(s.Devices, func(d specs.Device) bool { _, err := strconv.Atoi(d.Name); return err == nil })
}

// SortNatural sorts names so that runs of digits compare as numbers.
func SortNatural(names []string) {
	sort.SliceStable(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
}

func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			na, _ := strconv.ParseUint(da, 10, 64)
			nb, _ := strconv.ParseUint(db, 10, 64)
			if na != nb {
				return na < nb
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && i < 18 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// Qualified is a device's fully qualified CDI name ("kind=name"), what a
// device plugin hands the kubelet and the kubelet hands the runtime.
func Qualified(kind, name string) string { return kind + "=" + name }

// Keep returns a copy of the merged specs holding only the named devices
// (and the spec-wide edits), for one node; the names must all exist.
func Keep(kind string, in []*Spec, names []string) (*specs.Spec, error) {
	out := &specs.Spec{Kind: kind}
	byName := map[string]specs.Device{}
	for _, s := range in {
		for _, d := range s.Devices {
			byName[d.Name] = d
		}
		out.Annotations = s.Annotations
		out.ContainerEdits = s.ContainerEdits
	}
	for _, n := range names {
		d, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("CDI kind %s has no device %q", kind, n)
		}
		out.Devices = append(out.Devices, d)
	}
	v, err := specs.MinimumRequiredVersion(out)
	if err != nil {
		return nil, err
	}
	out.Version = v
	return out, nil
}

// HostPaths are the files on the machine that a spec's edits read from:
// mount sources and hook programs (absolute paths only). Each must exist
// inside a kind node for the runtime there to apply the spec, so `ferry up`
// mounts them at the same paths. Device nodes are not among them: a kind
// node is privileged and sees the host's /dev. Sorted, no duplicates.
func HostPaths(s *specs.Spec) []string {
	var out []string
	add := func(e specs.ContainerEdits) {
		for _, m := range e.Mounts {
			if filepath.IsAbs(m.HostPath) {
				out = append(out, filepath.Clean(m.HostPath))
			}
		}
		for _, h := range e.Hooks {
			if filepath.IsAbs(h.Path) {
				out = append(out, filepath.Clean(h.Path))
			}
		}
	}
	add(s.ContainerEdits)
	for _, d := range s.Devices {
		add(d.ContainerEdits)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Encode is a spec as the JSON a runtime reads.
func Encode(s *specs.Spec) ([]byte, error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
