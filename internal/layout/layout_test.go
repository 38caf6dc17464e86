package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestTheImportGraphKeepsTheLayout runs the rules on ferry's real graph,
// e2e code included.
func TestTheImportGraphKeepsTheLayout(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-tags", "e2e", "-deps", "-json", Module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, Module+"/")
		if !ok {
			continue
		}
		pkgs = append(pkgs, Package{Path: rel, Imports: Relative(p.Imports), Deps: Relative(p.Deps)})
	}
	if len(pkgs) < 20 {
		t.Fatalf("only %d of ferry's packages listed", len(pkgs))
	}
	for _, v := range Check(pkgs) {
		t.Error(v)
	}
}

// TestEveryRuleCatchesItsViolation feeds the rules a graph that breaks
// each of them once.
func TestEveryRuleCatchesItsViolation(t *testing.T) {
	t.Parallel()
	bad := []Package{
		{Path: "store", Imports: []string{"runtime/api", "internal/version"}},
		{Path: "api/v1", Deps: []string{"store"}},
		{Path: "client", Deps: []string{"api/v1", "runtime/auth"}},
		{Path: "bundle", Deps: []string{"bootstrap/kind"}},
		{Path: "runtime/seed", Deps: []string{"bootstrap/airgap"}},
		{Path: "bootstrap/platform", Deps: []string{"runtime/server"}},
		{Path: "runtime/server", Deps: []string{"runtime/node/netpol"}},
		{Path: "runtime/node/seed", Deps: []string{"store", "api/v1", "client"}},
		{Path: "e2e", Imports: []string{"cli"}},
		{Path: "cli", Imports: []string{"store"}},
	}
	got := strings.Join(Check(bad), "\n")
	for _, want := range []string{
		"store imports runtime/api", "api/v1 imports store", "client imports runtime/auth", "bundle imports bootstrap/kind",
		"runtime/seed imports bootstrap/airgap", "bootstrap/platform imports runtime/server", "runtime/server imports runtime/node/netpol",
		"runtime/node/seed imports store", "e2e imports cli", "cli imports store",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no violation %q in:\n%s", want, got)
		}
	}
	for _, ok := range []string{"store imports internal/version", "runtime/node/seed imports client", "runtime/node/seed imports api/v1"} {
		if strings.Contains(got, ok) {
			t.Errorf("allowed import reported: %s", ok)
		}
	}
	good := []Package{{Path: "cmd/ferry", Imports: []string{"cli"}}, {Path: "cli", Imports: []string{"client", "bootstrap/action", "runtime/server"}}}
	if v := Check(good); len(v) != 0 {
		t.Errorf("a good graph broke rules: %v", v)
	}
}
