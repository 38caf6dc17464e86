package pipelines

import v1 "github.com/ferry-ml/ferry/api/v1"

// Default requests of a step (request = limit).
const (
	DefaultCPU    = "500m"
	DefaultMemory = "512Mi"
)

// StepResources is what a step's pod asks for, defaults filled in.
func StepResources(s v1.Step) v1.Resources {
	r := s.Resources
	if r.CPU == "" {
		r.CPU = DefaultCPU
	}
	if r.Memory == "" {
		r.Memory = DefaultMemory
	}
	return r
}
