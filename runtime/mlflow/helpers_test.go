package mlflow

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/ferry-ml/ferry/store"
)

// env is a ferry with tenants team-a and team-b; alice edits team-a, val
// views it, bob edits team-b.
type env struct {
	t      *testing.T
	db     *store.DB
	bucket *blob.Bucket
	srv    *httptest.Server
	h      *Handler
	tokens map[string]string
}

func newEnv(t testing.TB, opts ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	bucket, err := fileblob.OpenBucket(filepath.Join(dir, "blobs"), &fileblob.Options{CreateDir: true, NoTempDir: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, bucket: bucket, tokens: map[string]string{}}
	err = db.Write(ctx, func(tx *store.Tx) error {
		for _, n := range []string{"team-a", "team-b"} {
			if _, err := tx.CreateTenant(ctx, store.Tenant{Name: n, DisplayName: n, Quota: store.Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
				return err
			}
		}
		for _, u := range []struct {
			name, tenant string
			role         store.Role
		}{{"alice", "team-a", store.RoleEditor}, {"val", "team-a", store.RoleViewer}, {"bob", "team-b", store.RoleEditor}} {
			usr, err := tx.CreateUser(ctx, u.name, false)
			if err != nil {
				return err
			}
			if err := tx.PutMember(ctx, u.tenant, usr.ID, u.role); err != nil {
				return err
			}
			if _, e.tokens[u.name], err = tx.CreateToken(ctx, usr.ID, "t", 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DB: db, Bucket: bucket, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Prefix, h)
	e.h, e.srv = h, httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	return e
}

// call sends body (JSON; for GET, query parameters) as user to a path of team-a
// unless path starts with /mlflow/. It returns the status and decoded reply.
func (e *env) call(user, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	if !strings.HasPrefix(path, "/mlflow/") {
		path = "/mlflow/team-a/api/2.0/mlflow" + path
	}
	var rd io.Reader
	if body != nil && method != http.MethodGet {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if q, ok := body.(map[string]string); ok && method == http.MethodGet {
		v := req.URL.Query()
		for k, s := range q {
			v.Set(k, s)
		}
		req.URL.RawQuery = v.Encode()
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			out["_raw"] = string(raw)
		}
	}
	return resp.StatusCode, out
}

// ok calls and fails the test unless the status is 200.
func (e *env) ok(user, method, path string, body any) map[string]any {
	e.t.Helper()
	st, out := e.call(user, method, path, body)
	if st != http.StatusOK {
		e.t.Fatalf("%s %s: status %d %v", method, path, st, out)
	}
	return out
}

// fails calls and checks the status and MLflow error code.
func (e *env) fails(user, method, path string, body any, status int, code string) map[string]any {
	e.t.Helper()
	st, out := e.call(user, method, path, body)
	if st != status || out["error_code"] != code {
		e.t.Fatalf("%s %s %v: got %d %v, want %d %s", method, path, body, st, out, status, code)
	}
	return out
}

// dig walks a decoded reply: dig(out, "run", "info", "run_id").
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// count runs a SELECT count(*) on the database file with a connection of its own.
func (e *env) count(q string) int {
	e.t.Helper()
	conn, err := sql.Open("sqlite", "file:"+e.db.Path()+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(q).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
