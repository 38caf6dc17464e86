package v1

import (
	"fmt"
	"strings"
)

// Problem is an error answer (RFC 9457 problem+json).
type Problem struct {
	Type     string          `json:"type,omitempty"`
	Title    string          `json:"title,omitempty"`
	Status   int             `json:"status,omitempty"`
	Detail   string          `json:"detail,omitempty"`
	Instance string          `json:"instance,omitempty"`
	Errors   []ProblemDetail `json:"errors,omitempty"`
}

// ProblemDetail names one offending field.
type ProblemDetail struct {
	Message  string `json:"message,omitempty"`
	Location string `json:"location,omitempty" doc:"where the error is, e.g. body.items[3].tags or path.thing-id"`
	Value    any    `json:"value,omitempty"`
}

// Error shows the problem as one line: the detail, the fields at fault
// that the detail does not already name, and the status.
func (p *Problem) Error() string {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	var fields []string
	for _, f := range p.Errors {
		if f.Location != "" && !strings.Contains(msg, f.Location) {
			fields = append(fields, f.Location+": "+f.Message)
		}
	}
	if len(fields) > 0 {
		msg += " (" + strings.Join(fields, "; ") + ")"
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, p.Status)
}
