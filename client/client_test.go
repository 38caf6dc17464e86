package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
	"github.com/ferry-ml/ferry/runtime/api"
	"github.com/ferry-ml/ferry/runtime/seed"
	"github.com/ferry-ml/ferry/store"
)

// jobs is a job runner that cancels in the store and serves a fixed log:
// enough to drive the cancel and logs endpoints through the real API.
type jobs struct{ db *store.DB }

func (jobs) Poke() {}

func (r jobs) Cancel(ctx context.Context, j store.Job, by string, record func(*store.Tx) error) (store.Job, error) {
	reason := "cancelled by " + by
	var out store.Job
	err := r.db.Write(ctx, func(tx *store.Tx) (err error) {
		if out, err = tx.UpdateJob(ctx, j.ID, store.JobUpdate{State: store.JobCancelled, Reason: &reason}); err != nil {
			return err
		}
		return record(tx)
	})
	return out, err
}

func (jobs) WriteLogs(_ context.Context, j store.Job, replica int32, _ bool, w io.Writer) error {
	_, err := fmt.Fprintf(w, "log of %s rank %d\n", j.Name, replica)
	return err
}

// notebooks is a notebook runner that changes state in the store only.
type notebooks struct{ db *store.DB }

func (notebooks) Poke() {}

func (r notebooks) Start(ctx context.Context, tenant, name string, record func(*store.Tx) error) (store.Notebook, error) {
	return r.set(ctx, tenant, name, store.NotebookRunning, "", record)
}

func (r notebooks) Stop(ctx context.Context, tenant, name, reason string, record func(*store.Tx) error) (store.Notebook, error) {
	return r.set(ctx, tenant, name, store.NotebookStopped, reason, record)
}

func (r notebooks) set(ctx context.Context, tenant, name string, st store.NotebookState, reason string, record func(*store.Tx) error) (store.Notebook, error) {
	var n store.Notebook
	err := r.db.Write(ctx, func(tx *store.Tx) (err error) {
		if n, err = tx.SetNotebookState(ctx, tenant, name, st, reason); err != nil {
			return err
		}
		return record(tx)
	})
	return n, err
}

func (r notebooks) Delete(ctx context.Context, tenant, name string, record func(*store.Tx) error) error {
	return r.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteNotebook(ctx, tenant, name); err != nil {
			return err
		}
		return record(tx)
	})
}

type env struct {
	admin *client.Client
	url   string
	seed  string // the seed account's token
	db    *store.DB
}

func start(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{db: db}
	if _, err := seed.Bootstrap(ctx, db, func() bool { return false }, func(s string) error { e.seed = s; return nil }); err != nil {
		t.Fatal(err)
	}
	var admin string
	if err := db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.CreateUser(ctx, "root", true)
		if err != nil {
			return err
		}
		_, admin, err = tx.CreateToken(ctx, u.ID, "t", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st, err := seed.Open(filepath.Join(dir, "seed"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test",
		Jobs: jobs{db}, Notebooks: notebooks{db}, Seed: st})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.admin = client.New(srv.URL, client.WithToken(admin))
	return e
}

func problem(t *testing.T, err error, status int, mention string) {
	t.Helper()
	var p *v1.Problem
	if !errors.As(err, &p) || p.Status != status || !strings.Contains(p.Error(), mention) {
		t.Fatalf("got %v, want a %d problem mentioning %q", err, status, mention)
	}
}

func TestClientDrivesTenantsUsersTokensMembersAndAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	if err := e.admin.Healthz(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.Readyz(ctx); err != nil {
		t.Fatal(err)
	}
	gpu := int64(2)
	tn, err := e.admin.CreateTenant(ctx, v1.TenantCreate{Name: "ml", Quota: v1.QuotaChange{CPU: "8", GPU: &gpu}})
	if err != nil || tn.Name != "ml" || tn.DisplayName != "ml" || tn.Quota != (v1.Quota{CPU: "8", Memory: "8Gi", GPU: 2}) {
		t.Fatalf("create tenant: %+v %v", tn, err)
	}
	_, err = e.admin.CreateTenant(ctx, v1.TenantCreate{Name: "Bad_Name"})
	problem(t, err, 422, "body.name")
	for _, n := range []string{"a1", "a2", "a3"} {
		if _, err := e.admin.CreateTenant(ctx, v1.TenantCreate{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := e.admin.ListTenants(ctx, v1.ListOptions{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	all, err := client.Collect(ctx, func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Tenant], error) {
		o.Limit = 1 // walk one row a page, through every cursor
		return e.admin.ListTenants(ctx, o)
	})
	if err != nil || len(all) != 4 || all[0].Name != "a1" || all[3].Name != "ml" {
		t.Fatalf("all tenants: %+v %v", all, err)
	}
	display := "Machine learning"
	if tn, err = e.admin.UpdateTenant(ctx, "ml", v1.TenantUpdate{DisplayName: &display}); err != nil || tn.DisplayName != display || tn.Quota.CPU != "8" {
		t.Fatalf("update: %+v %v", tn, err)
	}
	if tn, err = e.admin.GetTenant(ctx, "ml"); err != nil || tn.DisplayName != display {
		t.Fatalf("get: %+v %v", tn, err)
	}
	_, err = e.admin.GetTenant(ctx, "nope")
	problem(t, err, 404, "nope")

	u, err := e.admin.CreateUser(ctx, v1.UserCreate{Name: "ada"})
	if err != nil || u.User.Name != "ada" || !strings.HasPrefix(u.Token, v1.TokenPrefix) {
		t.Fatalf("create user: %+v %v", u, err)
	}
	ada := client.New(e.url, client.WithToken(u.Token))
	if m, err := e.admin.PutMember(ctx, "ml", "ada", v1.RoleEditor); err != nil || m != (v1.Member{Tenant: "ml", User: "ada", Role: v1.RoleEditor}) {
		t.Fatalf("put member: %+v %v", m, err)
	}
	ms, err := ada.ListMembers(ctx, "ml")
	if err != nil || len(ms.Items) != 1 || ms.Items[0].User != "ada" {
		t.Fatalf("members: %+v %v", ms, err)
	}
	who, err := ada.Whoami(ctx)
	if err != nil || who.Name != "ada" || who.Admin || len(who.Memberships) != 1 || who.Memberships[0].Role != v1.RoleEditor {
		t.Fatalf("whoami: %+v %v", who, err)
	}
	_, err = ada.CreateTenant(ctx, v1.TenantCreate{Name: "mine"})
	problem(t, err, 403, "admin")

	tok, err := ada.CreateToken(ctx, v1.TokenCreate{Name: "ci", ExpiresIn: "1h"})
	if err != nil || tok.Name != "ci" || tok.ExpiresAt == nil || !strings.HasPrefix(tok.Secret, v1.TokenPrefix) {
		t.Fatalf("create token: %+v %v", tok, err)
	}
	ts, err := ada.ListTokens(ctx)
	if err != nil || len(ts.Items) != 2 {
		t.Fatalf("tokens: %+v %v", ts, err)
	}
	if err := ada.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = client.New(e.url, client.WithToken(tok.Secret)).Whoami(ctx)
	problem(t, err, 401, "revoked")

	if err := e.admin.RemoveMember(ctx, "ml", "ada"); err != nil {
		t.Fatal(err)
	}
	_, err = ada.GetTenant(ctx, "ml")
	problem(t, err, 404, "ml")
	if err := e.admin.DeleteTenant(ctx, "a3"); err != nil {
		t.Fatal(err)
	}

	rows, err := client.Collect(ctx, func(ctx context.Context, o v1.ListOptions) (v1.List[v1.AuditEntry], error) {
		o.Limit = 3
		return e.admin.ListAudit(ctx, v1.AuditFilter{Tenant: "ml"}, o)
	})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, r := range rows {
		actions[r.Action]++
	}
	for _, want := range []string{"createTenant", "updateTenant", "putMember", "deleteMember"} {
		if actions[want] == 0 {
			t.Errorf("no %s row about tenant ml in %v", want, actions)
		}
	}
	if v, err := e.admin.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("verify: %+v %v", v, err)
	}
}

func TestClientDrivesJobsAndNotebooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	if _, err := e.admin.CreateTenant(ctx, v1.TenantCreate{Name: "ml"}); err != nil {
		t.Fatal(err)
	}
	// The client sends only what it was given; the server fills in defaults.
	j, err := e.admin.SubmitJob(ctx, "ml", v1.JobSubmit{Name: "train", Image: "ferry.local/workload:1", Command: []string{"python3", "t.py"}})
	if err != nil || j.State != v1.JobQueued || j.Spec.Replicas != 1 || j.Spec.Resources.CPU != "1" || j.Spec.Resources.Memory != "1Gi" {
		t.Fatalf("submit: %+v %v", j, err)
	}
	_, err = e.admin.SubmitJob(ctx, "ml", v1.JobSubmit{Name: "train", Image: "ferry.local/workload:1", Command: []string{"true"}})
	problem(t, err, 409, "")
	_, err = e.admin.SubmitJob(ctx, "ml", v1.JobSubmit{Name: "x", Image: "ferry.local/workload:1"})
	problem(t, err, 422, "body.command")
	for i := range 3 {
		if _, err := e.admin.SubmitJob(ctx, "ml", v1.JobSubmit{Name: fmt.Sprintf("j%d", i), Image: "busybox:1", Command: []string{"true"}}); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{}
	for j, err := range client.All(ctx, func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Job], error) {
		o.Limit = 2
		return e.admin.ListJobs(ctx, "ml", o)
	}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, j.Name)
	}
	if strings.Join(names, ",") != "train,j0,j1,j2" {
		t.Fatalf("jobs in submission order: %v", names)
	}
	if got, err := e.admin.GetJob(ctx, "ml", "j1"); err != nil || got.Name != "j1" || got.Tenant != "ml" {
		t.Fatalf("get job: %+v %v", got, err)
	}
	var log bytes.Buffer
	if err := e.admin.JobLogs(ctx, "ml", "train", v1.JobLogOptions{Replica: 0}, &log); err != nil || log.String() != "log of train rank 0\n" {
		t.Fatalf("logs: %q %v", log.String(), err)
	}
	err = e.admin.JobLogs(ctx, "ml", "train", v1.JobLogOptions{Replica: 5}, &log)
	problem(t, err, 422, "query.replica")
	if c, err := e.admin.CancelJob(ctx, "ml", "train"); err != nil || c.State != v1.JobCancelled || !strings.Contains(c.Reason, "root") {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	_, err = e.admin.CancelJob(ctx, "ml", "train")
	problem(t, err, 409, "cancelled")

	n, err := e.admin.CreateNotebook(ctx, "ml", v1.NotebookCreate{Name: "lab", Image: "ferry.local/workload:1"})
	if err != nil || n.State != v1.NotebookRunning || n.Workspace != "1Gi" || n.Resources.Memory != "2Gi" || n.URL != "/t/ml/notebooks/lab/" {
		t.Fatalf("create notebook: %+v %v", n, err)
	}
	if n, err = e.admin.StopNotebook(ctx, "ml", "lab"); err != nil || n.State != v1.NotebookStopped {
		t.Fatalf("stop: %+v %v", n, err)
	}
	if n, err = e.admin.StartNotebook(ctx, "ml", "lab"); err != nil || n.State != v1.NotebookRunning {
		t.Fatalf("start: %+v %v", n, err)
	}
	nbs, err := e.admin.ListNotebooks(ctx, "ml", v1.ListOptions{})
	if err != nil || len(nbs.Items) != 1 || nbs.Next != "" {
		t.Fatalf("list notebooks: %+v %v", nbs, err)
	}
	if got, err := e.admin.GetNotebook(ctx, "ml", "lab"); err != nil || got.Name != "lab" {
		t.Fatalf("get notebook: %+v %v", got, err)
	}
	if err := e.admin.DeleteNotebook(ctx, "ml", "lab"); err != nil {
		t.Fatal(err)
	}
	_, err = e.admin.GetNotebook(ctx, "ml", "lab")
	problem(t, err, 404, "lab")

	// Each state change and its audit row are one transaction: every
	// change above left exactly one row.
	rows, err := e.admin.ListAudit(ctx, v1.AuditFilter{Tenant: "ml"}, v1.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range rows.Items {
		count[r.Action+"/"+r.Result]++
	}
	for _, want := range []string{"cancelJob/ok", "stopNotebook/ok", "startNotebook/ok", "deleteNotebook/ok"} {
		if count[want] != 1 {
			t.Errorf("%s rows: %d, want 1 (%v)", want, count[want], count)
		}
	}
	if count["cancelJob/invalid"] != 1 {
		t.Errorf("the refused second cancel is not audited once: %v", count)
	}
}

func TestClientStreamsSeedImagesAndReports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	agent := client.New(e.url, client.WithTokenFunc(func() (string, error) { return e.seed + "\n", nil }))
	imgs, err := agent.SeedImages(ctx)
	if err != nil || len(imgs) != 0 {
		t.Fatalf("empty seed: %+v %v", imgs, err)
	}
	_, err = e.admin.UploadSeedBundle(ctx, strings.NewReader("not a bundle"))
	problem(t, err, 400, "")
	_, err = agent.UploadSeedBundle(ctx, strings.NewReader("x"))
	problem(t, err, 403, "admin")
	_, err = agent.SeedArchive(ctx, "ferry.local/none:1")
	problem(t, err, 404, "not in the seed bundle")
	if err := agent.ReportSeed(ctx, v1.SeedReport{Node: "n1", Generation: v1.SeedGeneration(imgs)}); err != nil {
		t.Fatal(err)
	}
	sts, err := e.admin.SeedStatus(ctx)
	if err != nil || len(sts) != 1 || sts[0].Node != "n1" || !sts[0].Current {
		t.Fatalf("status: %+v %v", sts, err)
	}
	_, err = agent.SeedStatus(ctx)
	problem(t, err, 403, "")
}

func TestProblemsCarryTheServersMessageAndTransportErrorsNameTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	_, err := client.New(e.url).Whoami(ctx)
	problem(t, err, 401, "missing bearer token")
	if !client.IsStatus(err, http.StatusUnauthorized) {
		t.Fatal("IsStatus(401) false")
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err = client.New(dead.URL, client.WithHTTPClient(&http.Client{Timeout: time.Second})).Whoami(ctx)
	if err == nil || !strings.Contains(err.Error(), dead.URL) {
		t.Fatalf("unreachable server: %v", err)
	}
	if got := client.Path(v1.PathMember, "a b", "x/y"); got != "/api/v1/tenants/a%20b/members/x%2Fy" {
		t.Fatalf("Path escapes: %s", got)
	}
}
