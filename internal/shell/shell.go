// Package shell runs external commands and, when they fail, returns an error
// that carries the command line and the tail of its output.
package shell

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// Cmd is one external command.
type Cmd struct {
	Name  string
	Args  []string
	Dir   string
	Env   []string // added to the process environment
	Stdin io.Reader
	// Log, when set, also receives the command's output as it runs.
	Log io.Writer
}

// Command makes a Cmd.
func Command(name string, args ...string) *Cmd { return &Cmd{Name: name, Args: args} }

// Run runs the command; its error names the command and shows the last lines of output.
func (c *Cmd) Run(ctx context.Context) error {
	_, err := c.Output(ctx)
	return err
}

// Output runs the command and returns its stdout.
func (c *Cmd) Output(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = c.Stdin
	var stdout, combined tailBuffer
	stdout.max, combined.max = 16<<20, 64<<10
	outs := []io.Writer{&stdout, &combined}
	errs := []io.Writer{&combined}
	if c.Log != nil {
		outs, errs = append(outs, c.Log), append(errs, c.Log)
	}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(outs...), io.MultiWriter(errs...)
	if err := cmd.Run(); err != nil {
		return stdout.String(), &Error{Command: c.String(), Err: err, Output: lastLines(combined.String(), 25)}
	}
	return stdout.String(), nil
}

// String is the command line.
func (c *Cmd) String() string { return strings.TrimSpace(c.Name + " " + strings.Join(c.Args, " ")) }

// Error is a failed command.
type Error struct {
	Command string
	Err     error
	Output  string
}

func (e *Error) Error() string {
	if e.Output == "" {
		return fmt.Sprintf("command %q: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("command %q: %v; its output ends with:\n%s", e.Command, e.Err, e.Output)
}

func (e *Error) Unwrap() error { return e.Err }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailBuffer keeps at most max bytes, dropping the oldest. stdout and stderr
// are copied by two goroutines, so writes are locked.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, err := t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return n, err
}
