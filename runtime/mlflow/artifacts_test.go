package mlflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gocloud.dev/blob"
)

func (e *env) raw(user, method, path string, body []byte, hdr map[string]string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+"/mlflow/team-a/api/2.0/mlflow-artifacts/artifacts"+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (e *env) blobs() int {
	e.t.Helper()
	n := 0
	it := e.bucket.List(&blob.ListOptions{Prefix: "artifacts/"})
	for {
		o, err := it.Next(context.Background())
		if err == io.EOF {
			return n
		}
		if err != nil {
			e.t.Fatal(err)
		}
		if !o.IsDir {
			n++
		}
	}
}

func TestArtifactsAreContentAddressedAndConfined(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxArtifactBytes = 1 << 10 })
	e.t = t
	run1 := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	run2 := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	body := []byte("a fitted model")
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	for _, p := range []string{"/0/" + run1 + "/artifacts/model/model.pkl", "/0/" + run2 + "/artifacts/model.pkl", "/0/" + run1 + "/artifacts/model/MLmodel"} {
		if st, b, h := e.raw("alice", "PUT", p, body, map[string]string{HeaderSHA256: digest}); st != 200 || h.Get(HeaderSHA256) != digest {
			t.Fatalf("PUT %s: %d %s", p, st, b)
		}
	}
	if n := e.blobs(); n != 1 {
		t.Fatalf("%d blobs for one content, want 1", n)
	}
	st, got, h := e.raw("val", "GET", "/0/"+run1+"/artifacts/model/model.pkl", nil, nil)
	if st != 200 || !bytes.Equal(got, body) || h.Get(HeaderSHA256) != digest {
		t.Fatalf("GET: %d %q %v", st, got, h)
	}
	st, list, _ := e.raw("val", "GET", "?path=0/"+run1+"/artifacts", nil, nil)
	if st != 200 || string(list) != `{"files":[{"path":"model","is_dir":true}]}`+"\n" {
		t.Fatalf("list root: %d %s", st, list)
	}
	st, list, _ = e.raw("val", "GET", "?path=0/"+run1+"/artifacts/model", nil, nil)
	if st != 200 || !strings.Contains(string(list), `{"path":"MLmodel","is_dir":false,"file_size":14}`) {
		t.Fatalf("list model/: %d %s", st, list)
	}
	tl := e.ok("val", "GET", "/artifacts/list", map[string]string{"run_id": run1, "path": "model"})
	if dig(tl, "files", 1, "path") != "model/model.pkl" || tl["root_uri"] != "mlflow-artifacts:/0/"+run1+"/artifacts" {
		t.Fatalf("tracking list: %v", tl)
	}
	// Straight to the handler: a ServeMux in front redirects unclean paths
	// to clean ones, which are then authorized like any other.
	for _, bad := range []string{"/0/" + run1 + "/artifacts/../../" + run2 + "/artifacts/x", "/0/" + run1 + "/artifacts/a/./b",
		"/0/" + run1 + "/artifacts//etc/passwd", "/0/" + run1 + "/other/x", "/0/" + run1 + "/artifacts/a\\..\\b"} {
		req := httptest.NewRequest("PUT", "/mlflow/team-a"+artifactsPath+"/x", bytes.NewReader(body))
		req.URL.Path = "/mlflow/team-a" + artifactsPath + bad
		req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "INVALID_PARAMETER_VALUE") {
			t.Errorf("PUT %s: %d %s", bad, rec.Code, rec.Body)
		}
	}
	if n := e.count("SELECT count(*) FROM run_artifacts"); n != 3 {
		t.Fatalf("%d artifacts recorded after refused paths, want 3", n)
	}
	if st, b, _ := e.raw("alice", "PUT", "/0/"+run1+"/artifacts/wrong", body, map[string]string{HeaderSHA256: strings.Repeat("0", 64)}); st != 400 {
		t.Fatalf("wrong digest: %d %s", st, b)
	}
	if st, _, _ := e.raw("alice", "PUT", "/0/"+run1+"/artifacts/big", make([]byte, 2<<10), nil); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("over the size limit: %d", st)
	}
	if n := e.count("SELECT count(*) FROM run_artifacts WHERE path IN ('wrong', 'big')"); n != 0 || e.blobs() != 1 {
		t.Fatalf("refused uploads left %d rows, %d blobs", n, e.blobs())
	}
	if st, _, _ := e.raw("val", "PUT", "/0/"+run1+"/artifacts/v", body, nil); st != 403 {
		t.Fatalf("viewer upload: %d", st)
	}
	if st, _, _ := e.raw("alice", "GET", "/1/"+run1+"/artifacts/model/model.pkl", nil, nil); st != 404 {
		t.Fatalf("run under the wrong experiment: %d", st)
	}
	// Who read what: the viewer's one download, nothing for the refused one.
	if n := e.count("SELECT count(*) FROM access_log WHERE tenant = 'team-a' AND actor = 'val' AND kind = 'artifact' AND object = 'run " + run1 + "/model/model.pkl'"); n != 1 {
		t.Fatalf("%d access rows for the viewer's download, want 1", n)
	}
	if n := e.count("SELECT count(*) FROM access_log"); n != 1 {
		t.Fatalf("%d access rows, want 1", n)
	}
}
