package server

import (
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// notebookToken mints user's token limited to tenant, as the notebooks
// controller does for a notebook's pod.
func (e *env) notebookToken(user, tenant string) (id, secret string) {
	e.t.Helper()
	ctx := e.t.Context()
	err := e.srv.Store().Write(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByName(ctx, user)
		if err != nil {
			return err
		}
		tk, s, err := tx.CreateScopedToken(ctx, u.ID, "notebook", store.NotebookScope(tenant, "lab"), 0)
		id, secret = tk.ID, s
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id, secret
}

// TestANotebooksTokenActsAsItsUserInItsTenantAndNowhereElse: the token a
// notebook's pod holds works on its tenant's API and MLflow paths with its
// user's role there (at most editor); another tenant is 404 even where its
// user is a member; users, tokens, audit, admin, monitoring across tenants,
// UI sessions, notebook sessions, deployment keys and members are 403 and
// write nothing; revoked (the notebook stopped), it is 401.
func TestANotebooksTokenActsAsItsUserInItsTenantAndNowhereElse(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, _ := e.twoTenants() // alice owns a, bob owns b
	e.user("vic")
	e.must(200, "PUT", "/api/v1/tenants/a/members/vic", alice, map[string]any{"role": "viewer"})
	e.must(200, "PUT", "/api/v1/tenants/b/members/alice", e.admin, map[string]any{"role": "editor"})
	nbID, nb := e.notebookToken("alice", "a")
	_, viewerNB := e.notebookToken("vic", "a")
	_, adminNB := e.notebookToken("admin", "a")

	// In its tenant, as alice: reads, a job, MLflow; an allowed change is audited as alice.
	e.must(200, "GET", "/api/v1/tenants/a", nb, nil)
	e.must(200, "GET", "/api/v1/tenants/a/jobs", nb, nil)
	job := e.must(201, "POST", "/api/v1/tenants/a/jobs", nb, map[string]any{"name": "from-nb", "image": "busybox:1", "command": []string{"true"}})
	if by := job.body["createdBy"]; by != "alice" {
		t.Errorf("a job submitted from a notebook is by %v, want alice", by)
	}
	e.must(200, "GET", "/mlflow/a/api/2.0/mlflow/experiments/search?max_results=10", nb, nil)
	e.must(200, "POST", "/mlflow/a/api/2.0/mlflow/experiments/create", nb, map[string]any{"name": "from-nb"})
	// A viewer's notebook reads only.
	e.must(200, "GET", "/api/v1/tenants/a/jobs", viewerNB, nil)
	e.must(403, "POST", "/api/v1/tenants/a/jobs", viewerNB, map[string]any{"name": "v", "image": "busybox:1", "command": []string{"true"}})
	e.must(403, "POST", "/mlflow/a/api/2.0/mlflow/experiments/create", viewerNB, map[string]any{"name": "v"})

	before := e.auditCount()
	refused := []struct {
		status       int
		method, path string
		token        string
		body         any
	}{
		// Another tenant, where alice is an editor: as if it did not exist.
		{404, "GET", "/api/v1/tenants/b", nb, nil},
		{404, "GET", "/api/v1/tenants/b/jobs", nb, nil},
		{404, "POST", "/api/v1/tenants/b/jobs", nb, map[string]any{"name": "x", "image": "busybox:1", "command": []string{"true"}}},
		{404, "DELETE", "/api/v1/tenants/b/notebooks/lab", nb, nil},
		{404, "GET", "/mlflow/b/api/2.0/mlflow/experiments/search?max_results=10", nb, nil},
		{404, "POST", "/mlflow/b/api/2.0/mlflow/experiments/create", nb, map[string]any{"name": "x"}},
		{404, "GET", "/api/v1/tenants/b", adminNB, nil},
		// Outside any tenant: users, tokens, audit, admin, cross-tenant views, UI sessions, serving's internals.
		{403, "GET", "/api/v1/whoami", nb, nil},
		{403, "GET", "/api/v1/tenants", nb, nil},
		{403, "POST", "/api/v1/tenants", adminNB, map[string]any{"name": "c", "owner": "alice"}},
		{403, "POST", "/api/v1/tokens", nb, map[string]any{"name": "escape"}},
		{403, "GET", "/api/v1/tokens", nb, nil},
		{403, "DELETE", "/api/v1/tokens/" + nbID, nb, nil},
		{403, "GET", "/api/v1/users/bob/tokens", adminNB, nil},
		{403, "POST", "/api/v1/users", adminNB, map[string]any{"name": "mallory"}},
		{403, "POST", "/api/v1/users/bob/disable", adminNB, nil},
		{403, "GET", "/api/v1/audit", nb, nil},
		{403, "GET", "/api/v1/usage", nb, nil},
		{403, "POST", "/api/v1/ui/session", nb, nil},
		{403, "GET", "/api/v1/serving/routes", adminNB, nil},
		{403, "GET", "/api/v1/seed/images", adminNB, nil},
		// In its tenant, what would outlive the notebook or change who may act.
		{403, "POST", "/api/v1/tenants/a/notebooks/lab/session", nb, nil},
		{403, "POST", "/api/v1/tenants/a/deployments/d/keys", nb, map[string]any{"name": "k"}},
		{403, "PUT", "/api/v1/tenants/a/members/bob", nb, map[string]any{"role": "owner"}},
		{403, "DELETE", "/api/v1/tenants/a/members/vic", nb, nil},
		// A new or restarted notebook, or a schedule, would run on with a credential of its own.
		{403, "POST", "/api/v1/tenants/a/notebooks", nb, map[string]any{"name": "escape", "image": "evil:1"}},
		{403, "POST", "/api/v1/tenants/a/notebooks/lab/start", nb, nil},
		{403, "POST", "/api/v1/tenants/a/schedules", nb, map[string]any{"name": "s", "pipeline": "p", "cron": "* * * * *"}},
		{403, "POST", "/api/v1/tenants/a/schedules/s/resume", nb, nil},
		// Owner's and admin's powers: the token holds at most editor, and is no admin.
		{403, "PATCH", "/api/v1/tenants/a", nb, map[string]any{"displayName": "mine"}},
		{403, "GET", "/api/v1/tenants/a/reads", nb, nil},
		{403, "PATCH", "/api/v1/tenants/a", adminNB, map[string]any{"quota": map[string]any{"cpu": "64"}}},
		{403, "DELETE", "/api/v1/tenants/a", adminNB, nil},
	}
	for _, c := range refused {
		if a := e.do(c.method, c.path, c.token, c.body); a.status != c.status {
			t.Errorf("%s %s with a notebook's token: %d, want %d: %s", c.method, c.path, a.status, c.status, a.raw)
		}
	}
	// The changes refused by role (the two PATCHes, the DELETE) are audited
	// like any refusal: their handlers ran. Everything else was refused
	// before any handler, and wrote nothing.
	if after := e.auditCount(); after-before != 3 {
		t.Errorf("refused notebook-token calls wrote %d audit rows, want 3", after-before)
	}
	e.must(200, "GET", "/api/v1/tenants/a", alice, nil) // alice herself is unaffected

	// Revoked, as when the notebook stops: nothing works.
	if err := e.srv.Store().Write(t.Context(), func(tx *store.Tx) error { return tx.RevokeTokenID(t.Context(), nbID) }); err != nil {
		t.Fatal(err)
	}
	e.must(401, "GET", "/api/v1/tenants/a/jobs", nb, nil)
	e.must(401, "GET", "/mlflow/a/api/2.0/mlflow/experiments/search?max_results=10", nb, nil)
}
