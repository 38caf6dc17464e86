package cli

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/api"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

func TestModelVersionArgSplitsNameAndNumberAtTheLastSlash(t *testing.T) {
	for _, c := range []struct {
		arg, name string
		version   int64
		ok, err   bool
	}{
		{"digits", "digits", 0, false, false},
		{"digits/2", "digits", 2, true, false},
		{"team/digits/12", "team/digits", 12, true, false},
		{"team/digits", "team/digits", 0, false, false},
		{"/2", "/2", 0, false, false},
		{"digits/", "digits/", 0, false, false},
		{"digits/0", "", 0, false, true},
		{"digits/-1", "", 0, false, true},
		{"digits/99999999999999999999", "", 0, false, true},
	} {
		name, version, ok, err := modelVersionArg(c.arg)
		if name != c.name || version != c.version || ok != c.ok || (err != nil) != c.err {
			t.Errorf("modelVersionArg(%q) = %q, %d, %v, %v; want %q, %d, %v, error %v", c.arg, name, version, ok, err, c.name, c.version, c.ok, c.err)
		}
	}
}

// TestModelGetShowsOneVersionWithItsDashboardPage reads a version through
// the real API: the table and its page, JSON alone, and the errors.
func TestModelGetShowsOneVersionWithItsDashboardPage(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var admin string
	err = db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.CreateUser(ctx, "root", true)
		if err != nil {
			return err
		}
		if _, admin, err = tx.CreateToken(ctx, u.ID, "t", 0); err != nil {
			return err
		}
		if _, err := tx.CreateTenant(ctx, store.Tenant{Name: "ml", DisplayName: "ml", Quota: store.Quota{CPU: "8", Memory: "16Gi"}}); err != nil {
			return err
		}
		if _, err := tx.CreateRegisteredModel(ctx, store.RegisteredModel{Tenant: "ml", Name: "digits"}); err != nil {
			return err
		}
		for _, src := range []string{"s3://models/one", "s3://models/two"} {
			if _, err := tx.CreateModelVersion(ctx, store.ModelVersion{Tenant: "ml", Name: "digits", Source: src}); err != nil {
				return err
			}
		}
		return tx.SetModelAlias(ctx, "ml", "digits", "champion", 2)
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Authn: &auth.Authenticator{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if code, _, e := run(t, cfg, "login", "--server", srv.URL, "--token", admin); code != 0 {
		t.Fatal(e)
	}

	code, out, e := run(t, cfg, "model", "get", "digits/2", "--tenant", "ml")
	if code != 0 || !regexp.MustCompile(`(?m)^2 +READY .*champion +s3://models/two `).MatchString(out) || strings.Contains(out, "s3://models/one") {
		t.Fatalf("model get digits/2: %d %s %s", code, out, e)
	}
	if !strings.HasSuffix(out, "\nDASHBOARD  "+srv.URL+"/tenants/ml/models/digits/versions/2\n") {
		t.Errorf("model get digits/2 names no version page: %s", out)
	}
	code, out, e = run(t, cfg, "model", "get", "digits/1", "--tenant", "ml", "-o", "json")
	var v v1.ModelVersion
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version != 1 || v.Source != "s3://models/one" || strings.Contains(out, "DASHBOARD") {
		t.Fatalf("model get digits/1 -o json: %d %s %s", code, out, e)
	}
	// The model alone still shows the model and its versions.
	if code, out, e := run(t, cfg, "model", "get", "digits", "--tenant", "ml"); code != 0 || !strings.Contains(out, "/tenants/ml/models/digits\n") ||
		!strings.Contains(out, "s3://models/one") || !strings.Contains(out, "s3://models/two") {
		t.Fatalf("model get digits: %d %s %s", code, out, e)
	}
	// Missing versions and models are named; a bad number is refused before any request.
	if code, _, e := run(t, cfg, "model", "get", "digits/9", "--tenant", "ml"); code == 0 || !strings.Contains(e, "version=9") {
		t.Errorf("model get digits/9: %d %s", code, e)
	}
	if code, _, e := run(t, cfg, "model", "get", "nope/1", "--tenant", "ml"); code == 0 || !strings.Contains(e, `"nope"`) {
		t.Errorf("model get nope/1: %d %s", code, e)
	}
	if code, _, e := run(t, cfg, "model", "get", "digits/0", "--tenant", "ml"); code == 0 || !strings.Contains(e, `version "0" of model digits is not a positive number`) {
		t.Errorf("model get digits/0: %d %s", code, e)
	}
}
