package api

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/danielgtaylor/huma/v2"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// MaxTenantName keeps "ferry-<tenant>" within a 63-character namespace name.
const MaxTenantName = 57

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateName checks a DNS-1123 label of at most max characters.
func ValidateName(name string, max int) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case len(name) > max:
		return fmt.Errorf("must be at most %d characters, got %d", max, len(name))
	case !dnsLabel.MatchString(name):
		return fmt.Errorf("%q is not a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// ValidateQuantity checks a non-negative Kubernetes quantity such as "4", "500m" or "16Gi".
func ValidateQuantity(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("%q is not a Kubernetes quantity (examples: 4, 500m, 16Gi)", s)
	}
	if q.Sign() < 0 {
		return fmt.Errorf("%q must not be negative", s)
	}
	return nil
}

// ValidateQuantityIn checks a Kubernetes quantity between min and max.
func ValidateQuantityIn(s, min, max string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("%q is not a Kubernetes quantity (examples: 4, 500m, 16Gi)", s)
	}
	if q.Cmp(resource.MustParse(min)) < 0 {
		if min == "0" {
			return fmt.Errorf("%q must not be negative", s)
		}
		return fmt.Errorf("%q must be at least %s", s, min)
	}
	if q.Cmp(resource.MustParse(max)) > 0 {
		return fmt.Errorf("%q must be at most %s", s, max)
	}
	return nil
}

// validateResources checks a replica's or notebook's requests, prefix
// naming the fields (body.resources).
func validateResources(prefix string, r store.Resources) error {
	if err := ValidateQuantityIn(r.CPU, v1.MinCPU, v1.MaxCPU); err != nil {
		return fieldError(prefix+".cpu", r.CPU, err)
	}
	if err := ValidateQuantityIn(r.Memory, v1.MinMemory, v1.MaxMemory); err != nil {
		return fieldError(prefix+".memory", r.Memory, err)
	}
	if r.GPU < 0 || r.GPU > v1.MaxGPU {
		return fieldError(prefix+".gpu", r.GPU, fmt.Errorf("must be between 0 and %d", v1.MaxGPU))
	}
	return nil
}

// beyondQuota refuses replicas × r when it is more than the tenant's whole
// quota: such work could never run, and would hold the tenant's queue.
func beyondQuota(prefix string, q store.Quota, r store.Resources, replicas int32) error {
	for _, f := range []struct{ field, need, quota string }{{"cpu", r.CPU, q.CPU}, {"memory", r.Memory, q.Memory}} {
		need, err1 := resource.ParseQuantity(f.need)
		hard, err2 := resource.ParseQuantity(orZero(f.quota))
		if err1 != nil || err2 != nil {
			continue
		}
		total := resource.Quantity{Format: need.Format}
		for range replicas {
			total.Add(need)
		}
		if total.Cmp(hard) > 0 {
			return fieldError(prefix+"."+f.field, f.need, fmt.Errorf("%d × %s = %s is more than the tenant's whole %s quota (%s): it could never run",
				replicas, f.need, total.String(), f.field, hard.String()))
		}
	}
	if total := r.GPU * int64(replicas); total > q.GPU {
		return fieldError(prefix+".gpu", r.GPU, fmt.Errorf("%d × %d = %d GPUs is more than the tenant's whole gpu quota (%d): it could never run", replicas, r.GPU, total, q.GPU))
	}
	return nil
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// conflict is a 409 naming the field whose value is taken.
func conflict(location string, value any, msg string) error {
	return huma.Error409Conflict(msg, &huma.ErrorDetail{Location: location, Message: "already taken", Value: value})
}

// fieldError is a 422 problem naming the field at fault.
func fieldError(location string, value any, err error) error {
	return huma.Error422UnprocessableEntity("validation failed: "+location+": "+err.Error(),
		&huma.ErrorDetail{Location: location, Message: err.Error(), Value: value})
}

var errNotCursor = errors.New("not a cursor of this list: pass the next value of the previous page")
