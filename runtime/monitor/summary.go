package monitor

import (
	"encoding/json"
	"fmt"
	"io"
)

// MaxSummaryBytes bounds one kubelet summary read (about 2 KiB per pod:
// a node with 5,000 pods fits).
const MaxSummaryBytes = 16 << 20

// PodUsage is what the kubelet measured for one pod: the sum over its
// containers (CPU in nanocores, memory working set in bytes, the
// accelerators' duty cycle in percent and their memory in bytes).
type PodUsage struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	CPU       uint64 `json:"cpuNanoCores"`
	Memory    uint64 `json:"memoryWorkingSetBytes"`
	GPU       uint64 `json:"gpuDutyCyclePercent"`
	GPUMemory uint64 `json:"gpuMemoryBytes"`
	// GPUs is how many accelerators the kubelet reported (0: none exposed).
	GPUs int `json:"gpus"`
}

// summary is the part of the kubelet's Summary API (stats/summary,
// k8s.io/kubelet/pkg/apis/stats/v1alpha1) that ferry reads; decoding only
// these fields keeps a pass cheap.
type summary struct {
	Pods []struct {
		PodRef struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			UID       string `json:"uid"`
		} `json:"podRef"`
		CPU        *cpuStats    `json:"cpu"`
		Memory     *memoryStats `json:"memory"`
		Containers []struct {
			Name         string       `json:"name"`
			CPU          *cpuStats    `json:"cpu"`
			Memory       *memoryStats `json:"memory"`
			Accelerators []struct {
				MemoryUsed uint64 `json:"memoryUsed"`
				DutyCycle  uint64 `json:"dutyCycle"`
			} `json:"accelerators"`
		} `json:"containers"`
	} `json:"pods"`
}

type cpuStats struct {
	UsageNanoCores *uint64 `json:"usageNanoCores"`
}

type memoryStats struct {
	WorkingSetBytes *uint64 `json:"workingSetBytes"`
}

// ParseSummary reads a kubelet summary and returns each pod's use. CPU
// and memory are the containers' sum; where the kubelet gave no container
// figure (a pod between container starts), the pod cgroup's figure is
// used. A summary larger than MaxSummaryBytes is an error.
func ParseSummary(r io.Reader) ([]PodUsage, error) {
	lr := &io.LimitedReader{R: r, N: MaxSummaryBytes + 1}
	var s summary
	if err := json.NewDecoder(lr).Decode(&s); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("kubelet summary is larger than %d bytes", MaxSummaryBytes)
		}
		return nil, fmt.Errorf("decode kubelet summary: %w", err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("kubelet summary is larger than %d bytes", MaxSummaryBytes)
	}
	out := make([]PodUsage, 0, len(s.Pods))
	for _, p := range s.Pods {
		u := PodUsage{Namespace: p.PodRef.Namespace, Name: p.PodRef.Name, UID: p.PodRef.UID}
		var cpuSeen, memSeen bool
		for _, c := range p.Containers {
			if c.CPU != nil && c.CPU.UsageNanoCores != nil {
				u.CPU += *c.CPU.UsageNanoCores
				cpuSeen = true
			}
			if c.Memory != nil && c.Memory.WorkingSetBytes != nil {
				u.Memory += *c.Memory.WorkingSetBytes
				memSeen = true
			}
			for _, a := range c.Accelerators {
				u.GPU += a.DutyCycle
				u.GPUMemory += a.MemoryUsed
				u.GPUs++
			}
		}
		if !cpuSeen && p.CPU != nil && p.CPU.UsageNanoCores != nil {
			u.CPU = *p.CPU.UsageNanoCores
		}
		if !memSeen && p.Memory != nil && p.Memory.WorkingSetBytes != nil {
			u.Memory = *p.Memory.WorkingSetBytes
		}
		out = append(out, u)
	}
	return out, nil
}
