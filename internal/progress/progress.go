// Package progress prints what a long operation is doing: one line when a
// step starts and one, with its duration, when it ends.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Printer writes step lines to an io.Writer; safe for concurrent steps.
type Printer struct {
	mu    sync.Mutex
	out   io.Writer
	now   func() time.Time
	start time.Time
}

// New returns a Printer writing to out.
func New(out io.Writer) *Printer {
	return &Printer{out: out, now: time.Now, start: time.Now()}
}

// Printf writes one free-form line.
func (p *Printer) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format+"\n", args...)
}

// Step runs fn between a start line and an end line that gives its duration.
func (p *Printer) Step(name string, fn func() error) error {
	p.Printf("• %s ...", name)
	t := p.now()
	err := fn()
	d := p.now().Sub(t).Round(100 * time.Millisecond)
	if err != nil {
		p.Printf("✗ %s failed after %s", name, d)
		return fmt.Errorf("%s: %w", name, err)
	}
	p.Printf("✓ %s (%s)", name, d)
	return nil
}

// Elapsed is the time since the Printer was made.
func (p *Printer) Elapsed() time.Duration { return p.now().Sub(p.start).Round(100 * time.Millisecond) }
