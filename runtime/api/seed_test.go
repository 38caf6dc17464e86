package api

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/runtime/seed"
	"github.com/ferry-ml/ferry/store"
)

// seedBundle writes a bundle holding one single-layer image named ref.
func seedBundle(t *testing.T, ref, content string) []byte {
	t.Helper()
	layer := tarBytes(t, [2]string{"hello", content})
	cfg := fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Cmd":[%q]}}`, ref)
	man, _ := json.Marshal([]map[string]any{{"Config": "c.json", "RepoTags": []string{ref}, "Layers": []string{"l/layer.tar"}}})
	archive := filepath.Join(t.TempDir(), "save.tar")
	if err := os.WriteFile(archive, tarBytes(t, [2]string{"l/layer.tar", string(layer)}, [2]string{"c.json", cfg}, [2]string{"manifest.json", string(man)}), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := bundle.NewWriter(&buf, "test", time.Now(), nil)
	if _, err := w.AddDockerArchive(archive, bundle.RoleUser); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarBytes(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Size: int64(len(f[1])), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	return buf.Bytes()
}

type fixture struct {
	srv          *httptest.Server
	db           *store.DB
	st           *seed.Store
	admin, agent string
	viewer       string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db}
	if _, err := seed.Bootstrap(ctx, db, func() bool { return false }, func(s string) error { f.agent = s; return nil }); err != nil {
		t.Fatal(err)
	}
	if created, err := seed.Bootstrap(ctx, db, func() bool { return true }, func(string) error { t.Fatal("second bootstrap made a token"); return nil }); err != nil || created {
		t.Fatalf("second bootstrap: %v %v", created, err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		a, err := tx.CreateUser(ctx, "root", true)
		if err != nil {
			return err
		}
		if _, f.admin, err = tx.CreateToken(ctx, a.ID, "t", 0); err != nil {
			return err
		}
		v, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		_, f.viewer, err = tx.CreateToken(ctx, v.ID, "t", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.st, err = seed.Open(filepath.Join(dir, "seed")); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Seed: f.st})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestSeedEndpointsCheckWhoIsAsking(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := seedBundle(t, "ferry.local/app:1", "v1")
	cases := []struct {
		method, path, token string
		body                []byte
		want                int
	}{
		{"GET", v1.PathSeedImages, "", nil, 401},
		{"GET", v1.PathSeedImages, "ferry_wrong", nil, 401},
		{"GET", v1.PathSeedImages, f.viewer, nil, 403},
		{"PUT", v1.PathSeedBundle, f.agent, good, 403},
		{"PUT", v1.PathSeedBundle, f.viewer, good, 403},
		{"GET", v1.PathSeedStatus, f.agent, nil, 403},
		{"POST", v1.PathSeedStatus, f.viewer, []byte(`{"node":"n1","generation":"g"}`), 403},
		{"POST", v1.PathSeedStatus, "", []byte(`{"node":"n1","generation":"g"}`), 401},
		{"GET", v1.PathSeedImages, f.agent, nil, 200},
		{"GET", "/api/v1/seed/other", f.admin, nil, 404},
	}
	for _, c := range cases {
		if got, body := f.do(t, c.method, c.path, c.token, c.body); got != c.want {
			t.Errorf("%s %s as %q: %d %s, want %d", c.method, c.path, c.token, got, body, c.want)
		}
	}
}

func TestUploadVerifiesReplacesAndServesArchivesAndStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if code, body := f.do(t, "PUT", v1.PathSeedBundle, f.admin, seedBundle(t, "ferry.local/app:1", "v1")); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	imgs := f.st.Images()
	if len(imgs) != 1 || imgs[0].Ref != "ferry.local/app:1" || !strings.HasPrefix(imgs[0].Config, "sha256:") {
		t.Fatalf("images %+v", imgs)
	}
	gen1 := f.st.Generation()
	// A corrupt upload is refused and changes nothing.
	bad := seedBundle(t, "ferry.local/app:2", "v2")
	bad = bad[:len(bad)-2048]
	if code, body := f.do(t, "PUT", v1.PathSeedBundle, f.admin, bad); code != 400 || !strings.Contains(string(body), "corrupt") {
		t.Fatalf("corrupt upload: %d %s", code, body)
	}
	if f.st.Generation() != gen1 {
		t.Fatal("a refused upload changed the seed set")
	}
	// The archive of the image is a docker archive a containerd import reads.
	code, body := f.do(t, "GET", v1.PathSeedArchive+"?ref=ferry.local/app:1", f.agent, nil)
	if code != 200 || !bytes.Contains(body, []byte("manifest.json")) || !bytes.Contains(body, []byte("v1")) {
		t.Fatalf("archive: %d (%d bytes)", code, len(body))
	}
	if code, _ := f.do(t, "GET", v1.PathSeedArchive+"?ref=nope:1", f.agent, nil); code != 404 {
		t.Fatalf("unknown image: %d", code)
	}
	// Agents report; the admin sees which nodes are current.
	report, _ := json.Marshal(v1.SeedReport{Node: "n1", Generation: gen1})
	if code, _ := f.do(t, "POST", v1.PathSeedStatus, f.agent, report); code != 204 {
		t.Fatalf("report: %d", code)
	}
	stale, _ := json.Marshal(v1.SeedReport{Node: "n2", Generation: "old"})
	f.do(t, "POST", v1.PathSeedStatus, f.agent, stale)
	_, body = f.do(t, "GET", v1.PathSeedStatus, f.admin, nil)
	var sts []v1.SeedNodeStatus
	if err := json.Unmarshal(body, &sts); err != nil || len(sts) != 2 || !sts[0].Current || sts[1].Current {
		t.Fatalf("status %s (%v)", body, err)
	}
	// A new upload replaces the set; a reopened store serves it.
	if code, _ := f.do(t, "PUT", v1.PathSeedBundle, f.admin, seedBundle(t, "ferry.local/app:2", "v2")); code != 200 {
		t.Fatal("second upload")
	}
	again, err := seed.Open(f.st.Dir)
	if err != nil || len(again.Images()) != 1 || again.Images()[0].Ref != "ferry.local/app:2" || again.Generation() == gen1 {
		t.Fatalf("reopened store: %+v %v", again.Images(), err)
	}
	// Every upload, good or bad, is in the audit log.
	var n int
	f.db.Read(context.Background(), func(tx *store.Tx) error {
		rows, err := tx.ListAudit(context.Background(), store.AuditFilter{Limit: 100})
		for _, r := range rows {
			if r.Action == "uploadSeedBundle" {
				n++
			}
		}
		return err
	})
	if n != 3 {
		t.Fatalf("%d upload audit rows, want 3", n)
	}
}

// TestSeedBundlesLargerThanTheJSONBodyLimitUploadWithinTheirOwnBound: a
// bundle is far larger than any JSON body; the 64 KiB body limit of the
// API must not cut it off, while the bundle's own bound still holds.
func TestSeedBundlesLargerThanTheJSONBodyLimitUploadWithinTheirOwnBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	big := seedBundle(t, "ferry.local/big:1", strings.Repeat("layer bytes ", 30<<10))
	if len(big) < 256<<10 {
		t.Fatalf("test bundle only %d bytes", len(big))
	}
	if code, body := f.do(t, "PUT", v1.PathSeedBundle, f.admin, big); code != 200 {
		t.Fatalf("upload of %d bytes: %d %s", len(big), code, body)
	}
	h, err := New(Config{Store: f.db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Seed: f.st, MaxSeedBundleBytes: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	small := httptest.NewServer(h)
	t.Cleanup(small.Close)
	req, _ := http.NewRequest(http.MethodPut, small.URL+v1.PathSeedBundle, bytes.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+f.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bundle over MaxSeedBundleBytes: %d, want 400", resp.StatusCode)
	}
	if imgs := f.st.Images(); len(imgs) != 1 || imgs[0].Ref != "ferry.local/big:1" {
		t.Fatalf("a refused upload changed the seed: %+v", imgs)
	}
}
