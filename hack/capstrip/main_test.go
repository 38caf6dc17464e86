package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseFindsCommandBundleAndProcess(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args                 []string
		cmd, bundle, process string
	}{
		{[]string{"--root", "/run/runc", "--log", "/x.log", "create", "--bundle", "/b", "id"}, "create", "/b", ""},
		{[]string{"run", "--bundle=/b2", "id"}, "run", "/b2", ""},
		{[]string{"--root", "/r", "exec", "--process", "/p.json", "-d", "id"}, "exec", "", "/p.json"},
		{[]string{"exec", "-p", "/q.json", "id"}, "exec", "", "/q.json"},
		{[]string{"state", "id"}, "state", "", ""},
	}
	for _, c := range cases {
		cmd, bundle, process := parse(c.args)
		if cmd != c.cmd || bundle != c.bundle || process != c.process {
			t.Errorf("parse(%v) = %q %q %q, want %q %q %q", c.args, cmd, bundle, process, c.cmd, c.bundle, c.process)
		}
	}
}

func TestRewriteDropsOnlyMissingCapabilities(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := map[string]any{"process": map[string]any{"capabilities": map[string]any{
		"bounding":  []any{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"},
		"effective": []any{"CAP_SYS_RESOURCE"},
	}}, "root": map[string]any{"path": "rootfs"}}
	b, _ := json.Marshal(spec)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rewrite(path, false, map[string]bool{"CAP_SYS_RESOURCE": true}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	b, _ = os.ReadFile(path)
	_ = json.Unmarshal(b, &got)
	caps := got["process"].(map[string]any)["capabilities"].(map[string]any)
	if !reflect.DeepEqual(caps["bounding"], []any{"CAP_CHOWN", "CAP_SYS_ADMIN"}) || len(caps["effective"].([]any)) != 0 {
		t.Fatalf("capabilities after rewrite: %v", caps)
	}
	if got["root"].(map[string]any)["path"] != "rootfs" {
		t.Fatal("rewrite lost other fields")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode changed to %v", fi.Mode().Perm())
	}
}
