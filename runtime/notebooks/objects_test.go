package notebooks

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestObjectsMatchGoldenFiles(t *testing.T) {
	t.Parallel()
	for golden, c := range map[string]struct {
		s       Spec
		running bool
	}{
		"running.yaml":     {Spec{Tenant: "team-a", Name: "lab", Image: "ferry.local/workload:1", CPU: "1", Memory: "2Gi", Workspace: "5Gi"}, true},
		"stopped-gpu.yaml": {Spec{Tenant: "team-a", Name: "gpu", Image: "ferry.local/workload:1", CPU: "2", Memory: "4Gi", GPU: 1, Workspace: "1Gi"}, false},
		"running-access.yaml": {Spec{Tenant: "team-a", Name: "lab", Image: "ferry.local/workload:1", CPU: "1", Memory: "2Gi", Workspace: "5Gi",
			Access: Access{URL: "http://ferry.ferry-system.svc:8080", TokenID: "0123456789abcdef", Gateway: "http://ferry-gateway.ferry-system.svc:8081"}}, true},
	} {
		svc, sts, err := Objects(c.s, c.running)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, o := range []any{svc, sts} {
			y, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			buf.WriteString("---\n")
			buf.Write(y)
		}
		path := filepath.Join("testdata", golden)
		if *update {
			_ = os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if buf.String() != string(want) {
			t.Errorf("%s differs:\n%s", golden, buf.String())
		}
	}
	if _, _, err := Objects(Spec{Tenant: "a", Name: "x", CPU: "1", Memory: "1Gi", Workspace: "huge"}, true); err == nil {
		t.Error("a bad workspace size was accepted")
	}
}
