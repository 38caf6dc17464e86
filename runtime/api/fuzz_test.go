package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ferry-ml/ferry/store"
)

// isLabel is an independent, character-by-character DNS-1123 label check.
func isLabel(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i, r := range s {
		alnum := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !alnum && !(r == '-' && i > 0 && i < len(s)-1) {
			return false
		}
	}
	return true
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"a", "team-a", "-a", "a-", "A", "a_b", "", strings.Repeat("a", 58), "ä", "a\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ValidateName(s, MaxTenantName) == nil
		if want := isLabel(s, MaxTenantName); got != want {
			t.Fatalf("ValidateName(%q) ok=%v, want %v", s, got, want)
		}
	})
}

// fuzzEnv is an API over a real store with an admin token.
func fuzzEnv(t testing.TB) (*Server, *store.DB, string) {
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "f.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var secret string
	err = db.Write(context.Background(), func(tx *store.Tx) error {
		u, err := tx.CreateUser(context.Background(), "admin", true)
		if err != nil {
			return err
		}
		_, secret, err = tx.CreateToken(context.Background(), u.ID, "t", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s, db, secret
}

func countTenants(t testing.TB, db *store.DB) int {
	var n int
	_ = db.Read(context.Background(), func(tx *store.Tx) error {
		ts, err := tx.ListTenants(context.Background(), 0, "", 100000)
		n = len(ts)
		return err
	})
	return n
}

// FuzzCreateTenantBody: no body makes the server fail (5xx), and a refused
// body creates nothing.
func FuzzCreateTenantBody(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"name":"a","quota":{"cpu":"1","memory":"1Gi","gpu":1}}`, `{"name":1}`,
		`{"name":"a","x":1}`, `[]`, `null`, `{"name":"a","quota":{"gpu":-1}}`, `{"name":"b","owner":"admin"}`, `{`} {
		f.Add(s)
	}
	s, db, secret := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		before := countTenants(t, db)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/tenants", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		after := countTenants(t, db)
		switch {
		case rec.Code >= 500:
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body.String())
		case rec.Code == http.StatusCreated && after != before+1:
			t.Fatalf("body %q: 201 but tenants %d -> %d", body, before, after)
		case rec.Code != http.StatusCreated && after != before:
			t.Fatalf("body %q: refused (%d) but tenants %d -> %d", body, rec.Code, before, after)
		}
		if rec.Code != http.StatusCreated && !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") && utf8.ValidString(body) {
			t.Fatalf("body %q: error without problem+json: %s", body, rec.Header().Get("Content-Type"))
		}
	})
}
