package charts

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestChartsPassHelmLint(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		res := lint.RunAll(name, nil, "ferry-system")
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("helm lint %s: %s", name, m)
			}
		}
	}
}

func TestRenderedPlatformMatchesGoldenFiles(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]any{
		"platform-default.yaml": nil,
		"platform-custom.yaml": {
			"image":       map[string]any{"repository": "registry.example/ferry", "tag": "1.2.3", "digest": "sha256:" + strings.Repeat("ab", 32), "pullPolicy": "IfNotPresent"},
			"persistence": map[string]any{"size": "20Gi", "storageClass": "fast"},
		},
	}
	for golden, vals := range cases {
		got, err := Render("platform", "ferry", "ferry-system", vals)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", golden)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update creates it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from the rendered chart:\n%s", golden, got)
		}
	}
}

func TestPlatformValuesAreCheckedAgainstTheSchema(t *testing.T) {
	t.Parallel()
	bad := []map[string]any{
		{"image": map[string]any{"pullPolicy": "Sometimes"}},
		{"persistence": map[string]any{"size": "lots"}},
		{"service": map[string]any{"port": 70000}},
		{"colour": "red"},
	}
	for _, vals := range bad {
		if _, err := Render("platform", "ferry", "ferry-system", vals); err == nil {
			t.Errorf("values %v accepted; the schema should refuse them", vals)
		}
	}
}

func TestPlatformRunsAsOneNonRootReplicaWithRecreate(t *testing.T) {
	t.Parallel()
	got, err := Render("platform", "ferry", "ferry-system", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"replicas: 1", "type: Recreate", "runAsNonRoot: true", "readOnlyRootFilesystem: true", "path: /readyz", "path: /healthz", "claimName: ferry-data"} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered platform lacks %q", want)
		}
	}
}
