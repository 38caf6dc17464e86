package kind

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestConfigMatchesGoldenFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		golden    string
		workers   int
		ferryNode bool
	}{
		{"ferry-1node.yaml", 0, true},
		{"ferry-3node.yaml", 2, true},
		{"upstream-1node.yaml", 0, false},
	}
	for _, c := range cases {
		got, err := ConfigYAML("ferry", c.workers, c.ferryNode, nil)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", c.golden)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from the generated config:\n%s", c.golden, got)
		}
	}
}

func TestOptionsRejectNegativeWorkers(t *testing.T) {
	t.Parallel()
	o := Options{Workers: -1}
	if err := o.Validate(); err == nil {
		t.Fatal("negative worker count accepted")
	}
}

func TestAClusterNameIsNeverAPath(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "..", "../../..", "a/b", "Ferry", "-a", "a-", "a.b", strings.Repeat("a", 51)} {
		if err := ValidName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
		if _, err := GPUDir(bad); err == nil {
			t.Errorf("GPUDir(%q) gave a directory", bad)
		}
	}
	for _, ok := range []string{"ferry", "ferry-e2e", "a", "x1-2"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	if err := Down(t.Context(), Options{Name: "../../.."}); err == nil || !strings.Contains(err.Error(), "cluster name") {
		t.Fatalf("down of a path-like name: %v", err)
	}
}
