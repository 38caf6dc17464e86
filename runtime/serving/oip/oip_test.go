package oip

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestInstallWritesTheEmbeddedRuntime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rt")
	if err := Install(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, ScriptName))
	if err != nil || !bytes.Equal(got, Script) || !bytes.Contains(got, []byte("/v2/models/")) {
		t.Fatalf("installed %d bytes, err %v", len(got), err)
	}
}
