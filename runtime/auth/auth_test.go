package auth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

func TestBearerSchemeIsCaseInsensitiveAndNeedsAToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer ferry_x", "ferry_x", true},
		{"bearer ferry_x", "ferry_x", true},
		{"BEARER   ferry_x ", "ferry_x", true},
		{"Basic ferry_x", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	} {
		h := http.Header{}
		h.Set("Authorization", tc.header)
		got, ok := BearerToken(h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRequestAuthenticatesBearerThenCookie(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var secret string
	if err := db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.CreateUser(ctx, "ada", false)
		if err != nil {
			return err
		}
		_, secret, err = tx.CreateToken(ctx, u.ID, "t", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{DB: db}

	req := func(header, cookie string) *http.Request {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://x/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "c", Value: cookie})
		}
		return r
	}
	if u, err := a.Request(req("bearer "+secret, ""), ""); err != nil || u.Name != "ada" {
		t.Fatalf("bearer: %v %v", u, err)
	}
	if u, err := a.Request(req("", secret), "c"); err != nil || u.Name != "ada" {
		t.Fatalf("cookie: %v %v", u, err)
	}
	if _, err := a.Request(req("", secret), ""); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("cookie not allowed: got %v", err)
	}
	for _, bad := range []string{"ferry_nope", "nope", "ferry_" + strings.Repeat("a", 4<<10)} {
		if _, err := a.Request(req("Bearer "+bad, ""), ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("token %.20q: got %v, want ErrInvalid", bad, err)
		}
	}
}
