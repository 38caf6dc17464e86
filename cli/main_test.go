package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMain lets tests run this test binary as the ferry binary (FERRY_TEST_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("FERRY_TEST_MAIN") == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// serverProc is `ferry server` running as a separate process.
type serverProc struct {
	cmd   *exec.Cmd
	url   string
	admin string
}

func startServerProc(t *testing.T, dir string, port int) *serverProc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(os.Args[0], "server", "--data-dir", dir, "--listen", addr, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "FERRY_TEST_MAIN=1")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := &serverProc{cmd: cmd, url: "http://" + addr}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				tok, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
				p.admin = strings.TrimSpace(string(tok))
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server on %s did not become ready", addr)
	return nil
}

func freePort(t *testing.T) int {
	t.Helper()
	// Derive a port from the test name and pid to avoid collisions between parallel tests.
	return 20000 + (os.Getpid()*7+len(t.Name())*131)%20000
}

func (p *serverProc) post(path, token string, body any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", p.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestKill9DuringWritesLosesNoCommittedRow(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	p := startServerProc(t, dir, port)
	var committed sync.Map
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("t-%d-%d", w, i)
				code, err := p.post("/api/v1/tenants", p.admin, map[string]any{"name": name})
				if err != nil {
					return // the server died mid-request: not acknowledged, may or may not exist
				}
				if code == 201 {
					committed.Store(name, true)
					n.Add(1)
				}
			}
		}()
	}
	for n.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	close(stop)
	wg.Wait()

	p2 := startServerProc(t, dir, port+1)
	missing := 0
	committed.Range(func(k, _ any) bool {
		req, _ := http.NewRequest("GET", p2.url+"/api/v1/tenants/"+k.(string), nil)
		req.Header.Set("Authorization", "Bearer "+p2.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			missing++
		}
		if resp != nil {
			resp.Body.Close()
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged tenants lost after kill -9", missing, n.Load())
	}
	req, _ := http.NewRequest("GET", p2.url+"/api/v1/audit/verify", nil)
	req.Header.Set("Authorization", "Bearer "+p2.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	if v["ok"] != true {
		t.Fatalf("audit chain after kill -9: %v", v)
	}
	t.Logf("%d acknowledged writes survived kill -9", n.Load())
}

// run runs the CLI in-process and returns its exit code, stdout and stderr.
func run(t *testing.T, cfg string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(t.Context(), append([]string{"--config", cfg}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLILoginTenantsMembersAndAuditVerify(t *testing.T) {
	dir := t.TempDir()
	p := startServerProc(t, dir, freePort(t))
	cfg := filepath.Join(t.TempDir(), "config.yaml")

	if code, _, errOut := run(t, cfg, "login", "--server", p.url, "--token", "ferry_wrong"); code == 0 || !strings.Contains(errOut, "401") {
		t.Fatalf("login with a bad token: code %d, %q", code, errOut)
	}
	if code, out, errOut := run(t, cfg, "login", "--server", p.url, "--token", p.admin); code != 0 || !strings.Contains(out, "as admin") {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	fi, err := os.Stat(cfg)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v, mode %v", err, fi.Mode().Perm())
	}
	if code, _, e := run(t, cfg, "tenant", "create", "team-a", "--cpu", "8", "--gpu", "2"); code != 0 {
		t.Fatal(e)
	}
	code, out, _ := run(t, cfg, "tenant", "list", "-o", "json")
	var list struct {
		Items []struct {
			Name  string `json:"name"`
			Quota struct {
				GPU int `json:"gpu"`
			} `json:"quota"`
		} `json:"items"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 1 || list.Items[0].Quota.GPU != 2 {
		t.Fatalf("tenant list -o json: %d %s", code, out)
	}
	if code, out, e := run(t, cfg, "tenant", "update", "team-a", "--gpu", "3"); code != 0 || !strings.Contains(out, "team-a") {
		t.Fatalf("tenant update: %s %s", out, e)
	}
	if code, _, e := run(t, cfg, "tenant", "update", "team-a"); code == 0 || !strings.Contains(e, "nothing to change") {
		t.Fatalf("an empty update: %s", e)
	}
	if code, out, _ := run(t, cfg, "tenant", "get", "team-a", "-o", "yaml"); code != 0 || !strings.Contains(out, "name: team-a") || !strings.Contains(out, "gpu: 3") {
		t.Fatalf("tenant get -o yaml: %s", out)
	}
	code, _, errOut := run(t, cfg, "tenant", "get", "nope")
	if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "tenant nope not found") {
		t.Fatalf("missing tenant: code %d, stderr %q (want one clear line)", code, errOut)
	}
	if code, _, e := run(t, cfg, "user", "create", "alice"); code != 0 {
		t.Fatal(e)
	}
	if code, out, e := run(t, cfg, "member", "add", "team-a", "alice", "--role", "editor"); code != 0 || !strings.Contains(out, "editor") {
		t.Fatalf("member add: %s %s", out, e)
	}
	if code, _, e := run(t, cfg, "member", "add", "team-a", "alice", "--role", "boss"); code == 0 || !strings.Contains(e, "role") {
		t.Fatalf("bad role accepted: %s", e)
	}
	code, out, _ = run(t, cfg, "token", "create", "ci", "-o", "json")
	var tok struct{ ID, Secret string }
	if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || !strings.HasPrefix(tok.Secret, "ferry_") {
		t.Fatalf("token create: %s", out)
	}
	if code, out, _ := run(t, cfg, "token", "list"); code != 0 || !strings.Contains(out, tok.ID) || strings.Contains(out, tok.Secret) {
		t.Fatalf("token list: %s", out)
	}
	if code, _, _ := run(t, cfg, "token", "revoke", tok.ID); code != 0 {
		t.Fatal("revoke failed")
	}
	// Jobs: stored queued (this server has no Kubernetes), bad input refused with the field named.
	if code, out, e := run(t, cfg, "job", "submit", "train", "--tenant", "team-a", "--image", "ferry.local/workload:1", "--replicas", "2", "--env", "EPOCHS=3", "--", "python3", "train.py"); code != 0 || !strings.Contains(out, "queued") {
		t.Fatalf("job submit: %d %s %s", code, out, e)
	}
	if code, _, e := run(t, cfg, "job", "submit", "bad", "--tenant", "team-a", "--image", "ferry.local/workload:1", "--cpu", "-1", "--", "true"); code == 0 || !strings.Contains(e, "body.resources.cpu") {
		t.Fatalf("negative cpu accepted: %s", e)
	}
	if code, _, e := run(t, cfg, "job", "submit", "bad", "--tenant", "team-a", "--image", "ferry.local/workload:1", "--env", "NOEQUALS", "--", "true"); code == 0 || !strings.Contains(e, "NAME=VALUE") {
		t.Fatalf("bad --env accepted: %s", e)
	}
	if code, out, _ := run(t, cfg, "job", "list", "--tenant", "team-a"); code != 0 || !strings.Contains(out, "train") || strings.Contains(out, "bad") {
		t.Fatalf("job list: %s", out)
	}
	if code, out, _ := run(t, cfg, "job", "get", "train", "--tenant", "team-a", "-o", "json"); code != 0 || !strings.Contains(out, `"EPOCHS": "3"`) || !strings.Contains(out, `"train.py"`) {
		t.Fatalf("job get: %s", out)
	}
	// The table names the job's dashboard page; JSON stays one document.
	if code, out, _ := run(t, cfg, "job", "get", "train", "--tenant", "team-a"); code != 0 || !regexp.MustCompile(`DASHBOARD  http://\S+/tenants/team-a/jobs/train\n`).MatchString(out) {
		t.Fatalf("job get names no dashboard page: %s", out)
	}
	if code, out, _ := run(t, cfg, "tenant", "get", "team-a", "-o", "json"); code != 0 || strings.Contains(out, "DASHBOARD") {
		t.Fatalf("tenant get -o json printed the dashboard link: %s", out)
	}
	if code, _, e := run(t, cfg, "job", "logs", "train", "--tenant", "team-a"); code == 0 || !strings.Contains(e, "no jobs") {
		t.Fatalf("logs without Kubernetes: %d %s", code, e)
	}
	if code, out, _ := run(t, cfg, "audit", "list", "--tenant", "team-a"); code != 0 || !strings.Contains(out, "putMember") {
		t.Fatalf("audit list: %s", out)
	}
	if code, out, _ := run(t, cfg, "audit", "verify"); code != 0 || !strings.Contains(out, "true") {
		t.Fatalf("audit verify on an intact chain: %d %s", code, out)
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	tamperDB(t, filepath.Join(dir, "ferry.db"))
	p2 := startServerProc(t, dir, freePort(t)+1)
	run(t, cfg, "login", "--server", p2.url, "--token", p2.admin)
	code, _, errOut = run(t, cfg, "audit", "verify")
	if code != 2 || !strings.Contains(errOut, "broken at row 2") {
		t.Fatalf("audit verify on a tampered chain: code %d, %q", code, errOut)
	}
}
