//go:build e2e

package e2e

import (
	"context"
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
				Data  map[string]string `json:"data"`
				Ename string            `json:"ename"`
			} `json:"content"`
		}
		if json.Unmarshal(data, &m) != nil || m.ParentHeader.MsgID != id {
			continue
		}
		switch m.Header.MsgType {
		case "execute_result":
			return m.Content.Data["text/plain"]
		case "error":
			t.Fatalf("kernel error %s", m.Content.Ename)
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
	if sts, err := c.cs.AppsV1().StatefulSets("ferry-ml").Get(ctx, "nb-lab", metav1.GetOptions{}); err != nil || *sts.Spec.Replicas != 0 {
		t.Fatalf("culled notebook's StatefulSet: %v", err)
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
