// Package oip holds ferry's built-in scikit-learn runtime (oip_server.py,
// the Open Inference Protocol v2 REST and v1 :predict), embedded in the
// binary: a revision's init container runs `ferry serve-runtime install
// DIR`, which writes it where the workload image's python3 runs it.
package oip

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// Script is the runtime's source.
//
//go:embed oip_server.py
var Script []byte

// ScriptName is its file name.
const ScriptName = "oip_server.py"

// Install writes the runtime into dir.
func Install(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("install runtime: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ScriptName), Script, 0o644); err != nil {
		return fmt.Errorf("install runtime: %w", err)
	}
	return nil
}
