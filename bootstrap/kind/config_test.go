package kind

import (
	"flag"
	"os"
	"path/filepath"
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
