//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

// token reads the token of a CLI config written by as().
func token(t *testing.T, env []string) string {
	t.Helper()
	for _, e := range env {
		if path, ok := strings.CutPrefix(e, "FERRY_CONFIG="); ok {
			b, _ := os.ReadFile(path)
			if m := regexp.MustCompile(`token: (\S+)`).FindSubmatch(b); m != nil {
				return string(m[1])
			}
		}
	}
	t.Fatal("no token in the CLI config")
	return ""
}

func request(t *testing.T, method, url, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// execute runs code on a Jupyter kernel over its WebSocket channel and
// returns the text/plain of the execute_result.
func execute(ctx context.Context, t *testing.T, wsURL, tok, code string) string {
	t.Helper()
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatalf("kernel WebSocket through the proxy: %v", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(8 << 20)
	id := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	msg := map[string]any{
		"header":        map[string]any{"msg_id": id, "username": "e2e", "session": id, "msg_type": "execute_request", "version": "5.3", "date": time.Now().UTC().Format(time.RFC3339)},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell", "buffers": []any{},
		"content": map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}
	b, _ := json.Marshal(msg)
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading the kernel's answer: %v", err)
		}
		var m struct {
			Header struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content struct {
				Data      map[string]string `json:"data"`
				Ename     string            `json:"ename"`
				Evalue    string            `json:"evalue"`
				Traceback []string          `json:"traceback"`
			} `json:"content"`
		}
		if json.Unmarshal(data, &m) != nil || m.ParentHeader.MsgID != id {
			continue
		}
		switch m.Header.MsgType {
		case "execute_result":
			return m.Content.Data["text/plain"]
		case "error":
			t.Fatalf("kernel error %s: %s\n%s", m.Content.Ename, m.Content.Evalue, strings.Join(m.Content.Traceback, "\n"))
		}
	}
}

// testNotebooks: a notebook opens through the control plane's proxy, a
// kernel evaluates 1+1 over its WebSocket, a file written to the workspace
// survives the notebook being culled for idleness and started again on
// demand, and nobody outside the tenant's editors gets in.
func testNotebooks(t *testing.T, c *cluster, img string, alice, vic, eve []string) {
	ctx := context.Background()
	if out, err := c.ferry(t, time.Minute, "tenant", "update", "ml", "--notebook-idle", "20s"); err != nil {
		t.Fatalf("tenant update: %v\n%s", err, out)
	}
	if out, err := ferry(t, time.Minute, alice, "notebook", "--tenant", "ml", "create", "lab", "--image", img, "--cpu", "500m", "--memory", "1Gi", "--workspace", "64Mi"); err != nil {
		t.Fatalf("notebook create: %v\n%s", err, out)
	}
	out, err := ferry(t, time.Minute, alice, "notebook", "--tenant", "ml", "open", "lab")
	if err != nil || !strings.Contains(out, "/t/ml/notebooks/lab/tree?"+v1.NotebookHandoverParam+"=") || strings.Contains(out, token(t, alice)) {
		t.Fatalf("notebook open: want a one-time hand-over URL without the token: %v\n%s", err, out)
	}
	base := out[strings.Index(out, "http"):strings.Index(out, "tree?")]
	tok := token(t, alice)
	untilUp := func(what string) time.Duration {
		t.Helper()
		start := time.Now()
		var code int
		var body string
		err := wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(context.Context) (bool, error) {
			code, body = request(t, "GET", base+"api", tok, "")
			return code == 200, nil
		})
		if err != nil {
			t.Fatalf("%s: the notebook did not answer through the proxy: %d %.300s", what, code, body)
		}
		return time.Since(start)
	}
	t.Logf("FIGURE notebook create → answering through the proxy: %s", untilUp("first start").Round(100*time.Millisecond))

	for who, env := range map[string][]string{"vic (viewer)": vic, "eve (no tenant)": eve} {
		want := map[string]int{"vic (viewer)": 403, "eve (no tenant)": 404}[who]
		if code, _ := request(t, "GET", base+"api", token(t, env), ""); code != want {
			t.Errorf("%s through the proxy: %d, want %d", who, code, want)
		}
	}
	if code, _ := request(t, "GET", base+"api", "", ""); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}

	code, body := request(t, "POST", base+"api/kernels", tok, `{"name":"python3"}`)
	if code != 201 {
		t.Fatalf("start a kernel: %d %s", code, body)
	}
	var kernel struct{ ID string }
	_ = json.Unmarshal([]byte(body), &kernel)
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "api/kernels/" + kernel.ID + "/channels"
	if got := execute(ctx, t, wsURL, tok, "1+1"); got != "2" {
		t.Fatalf("1+1 = %q", got)
	}
	t.Run("a cell tracks a run with ferry.start_run and registers a model with the notebook's own credentials", func(t *testing.T) {
		testNotebookTracking(ctx, t, strings.Split(base, "/t/")[0], wsURL, tok)
	})
	kept := fmt.Sprintf("kept-%d", time.Now().UnixNano())
	if code, body := request(t, "PUT", base+"api/contents/hello.txt", tok, `{"type":"file","format":"text","content":"`+kept+`"}`); code != 201 && code != 200 {
		t.Fatalf("write a workspace file: %d %s", code, body)
	}

	// Proxy overhead: the same request through the proxy, timed, next to
	// the server's own cheapest authenticated endpoint.
	var viaProxy, whoami time.Duration
	api := client.New(strings.Split(base, "/t/")[0], client.WithToken(tok))
	for range 20 {
		s := time.Now()
		request(t, "GET", base+"api", tok, "")
		viaProxy += time.Since(s)
		s = time.Now()
		if _, err := api.Whoami(ctx); err != nil {
			t.Fatalf("whoami: %v", err)
		}
		whoami += time.Since(s)
	}
	t.Logf("FIGURE notebook GET /api through the proxy: mean %s; the server's own GET /api/v1/whoami: mean %s", (viaProxy / 20).Round(100*time.Microsecond), (whoami / 20).Round(100*time.Microsecond))

	// Idle past the tenant's 20 s: culled, the workspace kept.
	start := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
		out, _ = ferry(t, time.Minute, vic, "notebook", "--tenant", "ml", "get", "lab", "-o", "json")
		return strings.Contains(out, `"state": "stopped"`), nil
	})
	if err != nil {
		t.Fatalf("the idle notebook was not stopped:\n%s", out)
	}
	t.Logf("notebook culled %s after the last request", time.Since(start).Round(time.Second))
	// The controller records the state, then scales the StatefulSet in the
	// same pass: wait (bounded) for the scale, not a read between the two.
	var replicas int32 = -1
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		sts, err := c.cs.AppsV1().StatefulSets("ferry-ml").Get(ctx, "nb-lab", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		replicas = *sts.Spec.Replicas
		return replicas == 0, nil
	})
	if err != nil {
		t.Fatalf("culled notebook's StatefulSet still at %d replicas 30 s after the notebook was stopped", replicas)
	}
	if _, err := c.cs.CoreV1().PersistentVolumeClaims("ferry-ml").Get(ctx, "workspace-nb-lab-0", metav1.GetOptions{}); err != nil {
		t.Fatalf("the workspace went with the pod: %v", err)
	}
	if code, _ := request(t, "GET", base+"api", tok, ""); code != 503 {
		t.Errorf("a stopped notebook answered %d, want 503 while it starts", code)
	}
	t.Logf("FIGURE culled notebook started on demand, answering in %s", untilUp("restart").Round(100*time.Millisecond))
	code, body = request(t, "GET", base+"api/contents/hello.txt", tok, "")
	if code != 200 || !strings.Contains(body, kept) {
		t.Fatalf("workspace file after the restart: %d %.300s", code, body)
	}
	if out, err := ferry(t, 2*time.Minute, alice, "notebook", "--tenant", "ml", "delete", "lab"); err != nil {
		t.Errorf("delete: %v %s", err, out)
	}
}

// notebookCell trains nothing but tracks like a notebook user would: a run
// in experiment nb with a metric and a model file, registered; a second run
// whose block raises; the answer is "RUN STATUS VERSION FAILED-RUN GATEWAY".
const notebookCell = `
import os, tempfile, ferry
with ferry.start_run(experiment="nb", run_name="cell") as r:
    r.log_metric("acc", 0.9)
    p = os.path.join(tempfile.mkdtemp(), "model.txt")
    with open(p, "w") as f:
        f.write("weights")
    r.log_artifact(p, "model/model.txt")
    v = r.register_model(%q)
try:
    with ferry.start_run(experiment="nb", run_name="broken") as bad:
        raise ValueError("diverged")
except ValueError:
    pass
gw = ferry.Client().gateway
assert gw == os.environ.get("FERRY_GATEWAY"), (gw, os.environ.get("FERRY_GATEWAY"))
f"{r.run_id} {r.status} {v} {bad.run_id} {gw}"
`

// testNotebookTracking runs notebookCell on the notebook's kernel (over the
// proxy's WebSocket) and checks through ferry's API, as the notebook's
// creator, that the runs, the metric, the artifact and the model version
// are in the tenant, and that the pod had the gateway's in-cluster URL.
func testNotebookTracking(ctx context.Context, t *testing.T, server, wsURL, tok string) {
	model := fmt.Sprintf("nb-model-%d", time.Now().UnixNano())
	got := strings.Trim(execute(ctx, t, wsURL, tok, fmt.Sprintf(notebookCell, model)), `'"`)
	f := strings.Fields(got)
	if len(f) != 5 || f[1] != "FINISHED" || f[2] != "1" {
		t.Fatalf("the cell answered %q, want RUN FINISHED 1 FAILED-RUN GATEWAY", got)
	}
	runID, failed, gateway := f[0], f[3], f[4]
	if !strings.HasPrefix(gateway, "http://ferry-gateway.ferry-system.svc:") {
		t.Errorf("the notebook's FERRY_GATEWAY = %q, want the gateway Service's in-cluster URL", gateway)
	}
	api := client.New(server, client.WithToken(tok))
	run, err := api.GetRun(ctx, "ml", runID)
	if err != nil {
		t.Fatalf("the cell's run %s: %v", runID, err)
	}
	if run.Status != "FINISHED" || run.Name != "cell" || run.EndTime == nil || run.Tags["mlflow.source.type"] != "NOTEBOOK" {
		t.Errorf("the cell's run: status %s, name %q, end %v, tags %v", run.Status, run.Name, run.EndTime, run.Tags)
	}
	var acc any
	for _, m := range run.Metrics {
		if m.Key == "acc" {
			acc = m.Value
		}
	}
	if acc != 0.9 {
		t.Errorf("the run's acc = %v, want 0.9 (metrics %v)", acc, run.Metrics)
	}
	exps, err := api.ListExperiments(ctx, "ml", v1.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	named := ""
	for _, e := range exps.Items {
		if e.ID == run.ExperimentID {
			named = e.Name
		}
	}
	if named != "nb" {
		t.Errorf("the run is in experiment %s named %q, want nb", run.ExperimentID, named)
	}
	arts, err := api.ListRunArtifacts(ctx, "ml", runID, "model")
	if err != nil || len(arts.Items) != 1 || arts.Items[0].Path != "model/model.txt" ||
		arts.Items[0].Digest != fmt.Sprintf("%x", sha256.Sum256([]byte("weights"))) {
		t.Errorf("the run's model directory: %+v %v", arts.Items, err)
	}
	versions, err := api.ListModelVersions(ctx, "ml", model, v1.ListOptions{})
	if err != nil || len(versions.Items) != 1 || versions.Items[0].RunID != runID || versions.Items[0].Version != 1 {
		t.Errorf("model %s versions: %+v %v, want version 1 from run %s", model, versions.Items, err, runID)
	}
	if bad, err := api.GetRun(ctx, "ml", failed); err != nil || bad.Status != "FAILED" {
		t.Errorf("the run whose block raised: %s %v, want FAILED", bad.Status, err)
	}
}
