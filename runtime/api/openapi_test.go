package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-ml/ferry/runtime/seed"
	"github.com/ferry-ml/ferry/store"
)

var update = flag.Bool("update", false, "rewrite api/v1/openapi.json")

// openapiFile is the generated document kept in the contract package, for
// the clients that are generated from it (the Python SDK, the dashboard).
const openapiFile = "../../api/v1/openapi.json"

func testServer(t *testing.T) *Server {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(t.Context(), store.Config{Path: filepath.Join(dir, "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := seed.Open(filepath.Join(dir, "seed"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "v1", Seed: st})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOpenAPICoversEveryMountedRoute walks the router: every method and
// path the server mounts under /api/ is an operation of the document, and
// every operation of the document is mounted.
func TestOpenAPICoversEveryMountedRoute(t *testing.T) {
	t.Parallel()
	s := testServer(t)
	mounted := map[string]bool{}
	err := chi.Walk(s.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/api/") || strings.HasPrefix(route, "/api/v1/schemas/") || strings.HasPrefix(route, "/api/v1/openapi") {
			return nil
		}
		mounted[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range s.OpenAPI().Paths {
		for method, op := range map[string]any{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete} {
			if op != nil && !isNilOp(op) {
				documented[method+" "+path] = true
			}
		}
	}
	for r := range mounted {
		if !documented[r] {
			t.Errorf("%s is mounted but not in the OpenAPI document", r)
		}
	}
	for r := range documented {
		if !mounted[r] {
			t.Errorf("%s is in the OpenAPI document but not mounted", r)
		}
	}
	if len(mounted) < 25 {
		t.Fatalf("only %d routes mounted: %v", len(mounted), keys(mounted))
	}
}

func isNilOp(op any) bool {
	b, _ := json.Marshal(op)
	return string(b) == "null"
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIDocumentIsCurrent keeps api/v1/openapi.json generated from the
// types: change a type, run go test ./runtime/api -run OpenAPI -update.
func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	t.Parallel()
	got, err := json.MarshalIndent(testServer(t).OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(openapiFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(openapiFile)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./runtime/api -run OpenAPIDocumentIsCurrent -args -update", openapiFile)
	}
	var doc struct {
		OpenAPI    string                           `json:"openapi"`
		Components struct{ Schemas map[string]any } `json:"components"`
	}
	if err := json.Unmarshal(got, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("not an OpenAPI 3.1 document: %v %q", err, doc.OpenAPI)
	}
	for _, name := range []string{"Job", "JobSubmit", "ListJob", "Tenant", "Notebook", "SeedImage", "ErrorModel"} {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("schema %s missing from the document", name)
		}
	}
}
