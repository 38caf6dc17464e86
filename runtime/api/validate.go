package api

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/danielgtaylor/huma/v2"
	"k8s.io/apimachinery/pkg/api/resource"
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

// fieldError is a 422 problem naming the field at fault.
func fieldError(location string, value any, err error) error {
	return huma.Error422UnprocessableEntity("validation failed: "+location+": "+err.Error(),
		&huma.ErrorDetail{Location: location, Message: err.Error(), Value: value})
}

var errNotCursor = errors.New("not a cursor of this list: pass the next value of the previous page")
