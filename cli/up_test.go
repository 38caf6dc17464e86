package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	code := Main(context.Background(), args, &out, &out)
	return out.String(), code
}

func TestUpRefusesBadFlagsBeforeTouchingAnything(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"--gpu":                                  {"up", "--gpu", "sometimes", "--name", "never-created"},
		"fake GPU count":                         {"up", "--gpu", "fake:0", "--name", "never-created"},
		"do not go with":                         {"up", "--kubeconfig", "/nonexistent", "--workers", "2"},
		"must be 0 or more":                      {"up", "--workers", "-1", "--dry-run"},
		"must be table, json":                    {"up", "-o", "xml", "--dry-run"},
		"--registry needs --bundle":              {"up", "--registry", "reg.example", "--name", "never-created"},
		"--node-image does not go with --bundle": {"up", "--bundle", "/nonexistent.tar", "--node-image", "x", "--name", "never-created"},
		"it needs --platform":                    {"up", "--kubeconfig", "/nonexistent", "--bundle", "/nonexistent.tar", "--platform=false"},
		"--name, --workers and --node-image":     {"up", "--context", "nowhere", "--name", "other"},
		"a local cluster's kind configuration":   {"up", "--kubeconfig", "/nonexistent", "--dry-run"},
	}
	for want, args := range cases {
		out, code := runMain(t, args...)
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("ferry %s: exit %d, output %q; want an error naming %q", strings.Join(args, " "), code, out, want)
		}
	}
}

func TestUpDryRunPrintsTheLocalClusterConfiguration(t *testing.T) {
	t.Parallel()
	out, code := runMain(t, "up", "--dry-run", "--name", "never-created", "--workers", "1")
	if code != 0 || !strings.Contains(out, "kind: Cluster") || strings.Count(out, "role: worker") != 1 {
		t.Fatalf("ferry up --dry-run: exit %d, output %q; want a kind configuration with one worker", code, out)
	}
}

func TestClientConfigRemoveForgetsTheContextAndItsCurrentMark(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.yaml")
	cfg := &ClientConfig{}
	cfg.Upsert(ClientContext{Name: "a", Server: "http://a", Token: "ta"})
	cfg.Upsert(ClientContext{Name: "kind-ferry", Server: "http://b", Token: "tb"})
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	g := &globals{configPath: path, stderr: &bytes.Buffer{}}
	if err := forgetContext(g, "kind-ferry"); err != nil {
		t.Fatal(err)
	}
	got, err := LoadClientConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Contexts) != 1 || got.Contexts[0].Name != "a" || got.Current != "" {
		t.Fatalf("after forgetting kind-ferry: %+v", got)
	}
	if err := forgetContext(g, "never-there"); err != nil {
		t.Fatalf("forgetting an unknown context: %v", err)
	}
}
