package shell

import (
	"errors"
	"strings"
	"testing"
)

func TestFailedCommandErrorCarriesCommandAndOutputTail(t *testing.T) {
	t.Parallel()
	script := "{ for i in $(seq 1 100); do echo line-$i; done; echo boom; } >&2; exit 3"
	_, err := Command("sh", "-c", script).Output(t.Context())
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *shell.Error", err)
	}
	if !strings.Contains(se.Command, "sh -c") || !strings.Contains(se.Output, "boom") || strings.Contains(se.Output, "line-50\n") {
		t.Fatalf("error = %v", err)
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("error lacks the exit status: %v", err)
	}
}

func TestOutputReturnsStdoutOnly(t *testing.T) {
	t.Parallel()
	out, err := Command("sh", "-c", "echo out; echo err >&2").Output(t.Context())
	if err != nil || out != "out\n" {
		t.Fatalf("out %q err %v", out, err)
	}
}
