package platform

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/bootstrap/install"
	"github.com/ferry-ml/ferry/internal/cdi"
	"github.com/ferry-ml/ferry/internal/progress"
)

// nvidiaRepo is the NVIDIA device plugin's repository (embed/images.yaml).
const nvidiaRepo = "nvcr.io/nvidia/k8s-device-plugin"

// GPUResource is the extended resource NVIDIA GPUs are scheduled as.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// GPU modes.
const (
	GPUOff    = "off"    // no gpu chart; an installed one is removed
	GPUAuto   = "auto"   // the gpu chart where GPUs are found
	GPUNVIDIA = "nvidia" // NVIDIA's device plugin
	GPUFake   = "fake"   // ferry's fake device plugin, Count per node
)

// GPUMode is the --gpu flag: off, auto, nvidia, fake or fake:N.
type GPUMode struct {
	Mode  string
	Count int
	// CDIKind is set when `ferry up` gave a local cluster's nodes CDI
	// specs of that kind (the host's NVIDIA GPUs, or the fake vendor's):
	// the gpu chart then runs ferry's plugin in cdi mode. Why says what
	// the host had (or why no GPU was usable).
	CDIKind, Why string
}

func (m GPUMode) String() string {
	if m.Mode == GPUFake {
		return fmt.Sprintf("%s:%d", m.Mode, m.Count)
	}
	return m.Mode
}

// ParseGPUMode reads off, auto, nvidia, fake or fake:N (N from 1 to 128).
func ParseGPUMode(s string) (GPUMode, error) {
	mode, count, hasCount := strings.Cut(s, ":")
	switch mode {
	case GPUOff, GPUAuto, GPUNVIDIA:
		if !hasCount {
			return GPUMode{Mode: mode}, nil
		}
	case GPUFake:
		if !hasCount {
			return GPUMode{Mode: mode, Count: 2}, nil
		}
		n, err := strconv.Atoi(count)
		if err == nil && n >= 1 && n <= 128 {
			return GPUMode{Mode: mode, Count: n}, nil
		}
		return GPUMode{}, fmt.Errorf("--gpu %q: the fake GPU count must be a number from 1 to 128", s)
	}
	return GPUMode{}, fmt.Errorf("--gpu %q: want off, auto, nvidia, fake or fake:N", s)
}

// HostGPU is one GPU nvidia-smi reports.
type HostGPU struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`
	MemoryMiB int    `json:"memoryMiB"`
	UUID      string `json:"uuid"`
}

// SMIQuery is the nvidia-smi query DetectNVIDIA runs.
var SMIQuery = []string{"--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader,nounits"}

// DetectNVIDIA lists this machine's NVIDIA GPUs with nvidia-smi (smi: its
// path, or "" to look it up on PATH). No nvidia-smi means no GPUs; an
// nvidia-smi that fails (driver not loaded) is an error.
func DetectNVIDIA(ctx context.Context, smi string) ([]HostGPU, error) {
	if smi == "" {
		p, err := exec.LookPath("nvidia-smi")
		if err != nil {
			return nil, nil
		}
		smi = p
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, smi, SMIQuery...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("nvidia-smi: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ParseSMI(out)
}

// ParseSMI reads nvidia-smi's CSV (index, name, memory.total in MiB, uuid).
func ParseSMI(out []byte) ([]HostGPU, error) {
	r := csv.NewReader(bytes.NewReader(out))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = 4
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("nvidia-smi output: %w", err)
	}
	gpus := make([]HostGPU, 0, len(recs))
	for _, rec := range recs {
		idx, err1 := strconv.Atoi(strings.TrimSpace(rec[0]))
		mem, err2 := strconv.Atoi(strings.TrimSpace(rec[2]))
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("nvidia-smi output line %q: %w", strings.Join(rec, ","), err)
		}
		gpus = append(gpus, HostGPU{Index: idx, Name: strings.TrimSpace(rec[1]), MemoryMiB: mem, UUID: strings.TrimSpace(rec[3])})
	}
	return gpus, nil
}

// NodeGPUs is how many GPUs a node can give to pods.
type NodeGPUs struct {
	Node        string `json:"node"`
	Allocatable int64  `json:"allocatable"`
}

// GPUNodes reports allocatable nvidia.com/gpu per node.
func GPUNodes(ctx context.Context, cs kubernetes.Interface) ([]NodeGPUs, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make([]NodeGPUs, 0, len(nodes.Items))
	for _, n := range nodes.Items {
		q := n.Status.Allocatable[GPUResource]
		out = append(out, NodeGPUs{Node: n.Name, Allocatable: q.Value()})
	}
	slices.SortFunc(out, func(a, b NodeGPUs) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}

// gpuLabels mark nodes with NVIDIA hardware (GPU feature discovery, NFD).
var gpuLabels = []string{"nvidia.com/gpu.present", "feature.node.kubernetes.io/pci-10de.present"}

// resolveGPU turns auto into what to install: "" (nothing), nvidia or fake,
// then the gpu chart's mode for it.
func resolveGPU(ctx context.Context, cs kubernetes.Interface, o Options, installed bool) (mode, chart, why string, err error) {
	mode, why, err = resolveMode(ctx, cs, o, installed)
	chart = mode
	if o.GPU.CDIKind != "" && (mode == GPUNVIDIA || mode == GPUFake) {
		chart = "cdi"
	}
	return mode, chart, why, err
}

func resolveMode(ctx context.Context, cs kubernetes.Interface, o Options, installed bool) (string, string, error) {
	if o.GPU.CDIKind != "" {
		mode := GPUNVIDIA
		if o.GPU.CDIKind == cdi.FakeKind {
			mode = GPUFake
		}
		return mode, o.GPU.Why, nil
	}
	switch o.GPU.Mode {
	case GPUNVIDIA, GPUFake, GPUOff:
		return o.GPU.Mode, "asked for", nil
	case "", GPUAuto:
	default:
		return "", "", fmt.Errorf("unknown GPU mode %q", o.GPU.Mode)
	}
	if installed {
		return "", "the gpu release is already installed; kept as it is", nil
	}
	if o.KindCluster != "" {
		// A local cluster's nodes have GPUs only through the CDI specs
		// `ferry up` gives them when it makes the cluster.
		if o.GPU.Why != "" {
			return "", o.GPU.Why, nil
		}
		return "", "a local cluster's nodes get GPUs only from `ferry up`, which found none", nil
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", "", fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range nodes.Items {
		if q := n.Status.Allocatable[GPUResource]; !q.IsZero() {
			return "", "the cluster already advertises nvidia.com/gpu (its own device plugin)", nil
		}
	}
	for _, n := range nodes.Items {
		for _, l := range gpuLabels {
			if n.Labels[l] == "true" {
				return GPUNVIDIA, "node " + n.Name + " is labelled " + l, nil
			}
		}
	}
	return "", "no node is labelled as having an NVIDIA GPU", nil
}

// applyGPU installs, upgrades, removes or leaves the gpu release, then
// reports which nodes have GPUs to give.
func applyGPU(ctx context.Context, cs kubernetes.Interface, o Options, helm install.Options, image map[string]any, res *Result, p *progress.Printer) error {
	rels, err := install.List(helm)
	if err != nil {
		return err
	}
	installed := slices.ContainsFunc(rels, func(r install.Release) bool { return r.Name == GPURelease })
	mode, chart, why, err := resolveGPU(ctx, cs, o, installed)
	if err != nil {
		return err
	}
	res.GPUMode = mode
	switch mode {
	case "":
		p.Printf("  gpu chart: not installed (%s)", why)
	case GPUOff:
		if installed {
			err := p.Step("remove the gpu chart (--gpu=off)", func() error {
				h := helm
				h.Chart, h.Release = "gpu", GPURelease
				return install.Uninstall(ctx, h)
			})
			if err != nil {
				return err
			}
		}
	default:
		vals := map[string]any{"mode": chart}
		switch chart {
		case GPUNVIDIA:
			if p, ok := pushedRepo(o.Registry, nvidiaRepo); ok {
				vals["nvidia"] = map[string]any{"image": map[string]any{"repository": p.Repository, "digest": p.Digest}}
			}
		case "cdi":
			vals["plugin"] = map[string]any{"image": image}
			vals["cdi"] = map[string]any{"kind": o.GPU.CDIKind}
		case GPUFake:
			vals["plugin"] = map[string]any{"image": image}
			vals["fake"] = map[string]any{"count": o.GPU.Count}
		}
		var r install.Result
		err := p.Step(fmt.Sprintf("install or upgrade the gpu chart, %s mode (%s)", chart, why), func() error {
			h := helm
			h.Chart, h.Release, h.Values = "gpu", GPURelease, vals
			var err error
			r, err = install.Apply(ctx, h)
			return err
		})
		if err != nil {
			return err
		}
		res.GPU = &r
		p.Printf("  gpu release %s (revision %d)", r.Action, r.Revision)
	}
	want := int64(0)
	if mode == GPUFake {
		want = int64(o.GPU.Count)
	}
	// The kubelet updates allocatable a moment after the plugin registers.
	var nodes []NodeGPUs
	_ = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		nodes, err = GPUNodes(ctx, cs)
		if err != nil || want == 0 {
			return err == nil, nil
		}
		return !slices.ContainsFunc(nodes, func(n NodeGPUs) bool { return n.Allocatable != want }), nil
	})
	if err != nil {
		return err
	}
	res.GPUNodes = nodes
	var with, without []string
	for _, n := range nodes {
		if n.Allocatable > 0 {
			with = append(with, fmt.Sprintf("%s (%d)", n.Node, n.Allocatable))
		} else {
			without = append(without, n.Node)
		}
	}
	p.Printf("  nodes with allocatable nvidia.com/gpu: %s; without: %s", orNone(with), orNone(without))
	if want > 0 && len(without) > 0 {
		return fmt.Errorf("fake GPU plugin installed, but node(s) %s advertise no nvidia.com/gpu after a minute (kubectl -n %s logs ds/ferry-gpu-device-plugin)", strings.Join(without, ", "), Namespace)
	}
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
