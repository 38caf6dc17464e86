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

func TestRenderedChartsMatchGoldenFiles(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]any{
		"platform-default.yaml": nil,
		"gpu-default.yaml":      nil,
		"network-default.yaml":  nil,
		"platform-gateway.yaml": {"gateway": map[string]any{"enabled": true, "replicas": 2, "service": map[string]any{"type": "NodePort", "nodePort": 30081}}},
		"gpu-time-slicing.yaml": {"timeSlicing": map[string]any{"replicas": 4}, "nvidia": map[string]any{"nodeSelector": map[string]any{"nvidia.com/gpu.present": "true"}}},
		"gpu-fake.yaml":         {"mode": "fake", "fake": map[string]any{"count": 3}, "plugin": map[string]any{"image": map[string]any{"tag": "v1-abc"}}, "timeSlicing": map[string]any{"replicas": 2}},
		"gpu-cdi.yaml":          {"mode": "cdi", "cdi": map[string]any{"kind": "ferry.io/gpu"}, "plugin": map[string]any{"image": map[string]any{"tag": "v1-abc"}}, "timeSlicing": map[string]any{"replicas": 2}},
		"platform-custom.yaml": {
			"image":       map[string]any{"repository": "registry.example/ferry", "tag": "1.2.3", "digest": "sha256:" + strings.Repeat("ab", 32), "pullPolicy": "IfNotPresent"},
			"persistence": map[string]any{"size": "20Gi", "storageClass": "fast"},
			"service":     map[string]any{"type": "NodePort", "nodePort": 30080},
			"seed":        map[string]any{"enabled": true, "interval": "10s"},
		},
	}
	for golden, vals := range cases {
		chartName := strings.SplitN(golden, "-", 2)[0]
		got, err := Render(chartName, "ferry", "ferry-system", vals)
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

func TestNetworkValuesAreCheckedAgainstTheSchema(t *testing.T) {
	t.Parallel()
	bad := []map[string]any{
		{"clusterCIDR": "10.244.0.0"},
		{"clusterCIDR": "fd00::/64"},
		{"cniConfDir": "etc/cni"},
		{"networkPolicy": "on"},
		{"resync": "often"},
		{"image": map[string]any{"digest": "sha256:short"}},
		{"colour": "red"},
	}
	for _, vals := range bad {
		if _, err := Render("network", "ferry-network", "kube-system", vals); err == nil {
			t.Errorf("values %v accepted; the schema should refuse them", vals)
		}
	}
}

func TestPlatformValuesAreCheckedAgainstTheSchema(t *testing.T) {
	t.Parallel()
	bad := []map[string]any{
		{"image": map[string]any{"pullPolicy": "Sometimes"}},
		{"persistence": map[string]any{"size": "lots"}},
		{"service": map[string]any{"port": 70000}},
		{"service": map[string]any{"type": "LoadBalancer"}},
		{"adminTokenSecret": "Not_A_Name"},
		{"seed": map[string]any{"enabled": "yes"}},
		{"seed": map[string]any{"containerdSocket": "relative.sock"}},
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

func TestGPUValuesAreCheckedAgainstTheSchema(t *testing.T) {
	t.Parallel()
	bad := []map[string]any{
		{"mode": "amd"},
		{"fake": map[string]any{"count": 0}},
		{"mode": "cdi", "cdi": map[string]any{"kind": "gpu"}},
		{"mode": "cdi", "cdi": map[string]any{"kind": "nvidia.com/gpu; rm -rf /"}},
		{"timeSlicing": map[string]any{"replicas": 0}},
		{"nvidia": map[string]any{"image": map[string]any{"digest": "sha256:short"}}},
		{"runtimeClass": map[string]any{"name": "Bad Name"}},
	}
	for _, vals := range bad {
		if _, err := Render("gpu", "ferry-gpu", "ferry-system", vals); err == nil {
			t.Errorf("values %v accepted; the schema should refuse them", vals)
		}
	}
}

func TestGPUModesRenderTheirOwnPluginOnly(t *testing.T) {
	t.Parallel()
	nvidia, err := Render("gpu", "ferry-gpu", "ferry-system", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: RuntimeClass", "handler: nvidia", "nvcr.io/nvidia/k8s-device-plugin:v0.17.1@sha256:"} {
		if !strings.Contains(nvidia, want) {
			t.Errorf("nvidia mode lacks %q", want)
		}
	}
	if strings.Contains(nvidia, "kind: ConfigMap") || strings.Contains(nvidia, "- device-plugin\n") || strings.Contains(nvidia, "ferry.local/ferry") {
		t.Error("nvidia mode without time-slicing renders a config or ferry's plugin")
	}
	fake, err := Render("gpu", "ferry-gpu", "ferry-system", map[string]any{"mode": "fake"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fake, "kind: RuntimeClass") || strings.Contains(fake, "nvcr.io") {
		t.Error("fake mode renders NVIDIA's runtime class or image")
	}
	if !strings.Contains(fake, "- --count=2") {
		t.Error("fake mode does not pass the device count")
	}
	withCDI, err := Render("gpu", "ferry-gpu", "ferry-system", map[string]any{"mode": "cdi"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(withCDI, "kind: RuntimeClass") || strings.Contains(withCDI, "nvcr.io") || strings.Contains(withCDI, "--count") {
		t.Error("cdi mode renders NVIDIA's runtime class or image, or a synthetic count")
	}
	for _, want := range []string{"- --cdi-kind=nvidia.com/gpu", "path: /etc/cdi", "mountPath: /var/run/cdi"} {
		if !strings.Contains(withCDI, want) {
			t.Errorf("cdi mode lacks %q", want)
		}
	}
}
