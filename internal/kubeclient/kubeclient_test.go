package kubeclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://10.0.0.1:6443"}
- name: b
  cluster: {server: "https://10.0.0.2:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: ctx-a
  context: {cluster: a, user: u}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
`

func TestConfigSelectsTheNamedOrCurrentContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for ctx, host := range map[string]string{"": "https://10.0.0.1:6443", "ctx-b": "https://10.0.0.2:6443"} {
		cfg, err := Config(path, ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != host {
			t.Errorf("context %q: host %s, want %s", ctx, cfg.Host, host)
		}
	}
	if cur, err := CurrentContext(path); err != nil || cur != "ctx-a" {
		t.Errorf("current context %q %v", cur, err)
	}
	if _, err := Config(path, "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown context: %v", err)
	}
	if _, err := Config(filepath.Join(t.TempDir(), "missing"), ""); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
}
