package api

import (
	"encoding/json"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

func TestTenantDisplayNameRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := func(v any) []byte { b, _ := json.Marshal(v); return b }
	for _, bad := range []string{"evil\x1b[2J", "two\nlines", "tab\there", "rtl\u202eexe", "nul\x00", "del\x7f"} {
		if code, resp := f.do(t, "POST", v1.PathTenants, f.admin, body(map[string]string{"name": "t1", "displayName": bad})); code != 422 {
			t.Errorf("create with displayName %q: %d %s, want 422", bad, code, resp)
		}
	}
	if code, resp := f.do(t, "POST", v1.PathTenants, f.admin, body(map[string]string{"name": "ok", "displayName": "Zürich 東京 🚀 R&D"})); code != 201 {
		t.Fatalf("create with a Unicode display name: %d %s", code, resp)
	}
	path := v1.PathTenants + "/ok"
	if code, resp := f.do(t, "PATCH", path, f.admin, body(map[string]string{"displayName": "x\x1b]0;pwned\x07"})); code != 422 {
		t.Errorf("update with an escape sequence: %d %s, want 422", code, resp)
	}
	code, resp := f.do(t, "GET", path, f.admin, nil)
	var got v1.Tenant
	if err := json.Unmarshal(resp, &got); code != 200 || err != nil || got.DisplayName != "Zürich 東京 🚀 R&D" {
		t.Errorf("after the refused update: %d %+v %v", code, got, err)
	}
}
