package notebooks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

// TestTheProxyRefusesANotebooksOwnToken: a notebook's token (limited to its
// tenant) opens no notebook through the proxy, not even its own, where its
// user's API token does: code in one notebook cannot reach the others.
func TestTheProxyRefusesANotebooksOwnToken(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var api, scoped string
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateTenant(ctx, store.Tenant{Name: "a", DisplayName: "a", Quota: store.Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
			return err
		}
		if _, err := tx.CreateNotebook(ctx, store.Notebook{Tenant: "a", Name: "nb", Image: "i", Resources: store.Resources{CPU: "1", Memory: "1Gi"}, Workspace: "1Gi", CreatedBy: "alice"}); err != nil {
			return err
		}
		u, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		if err := tx.PutMember(ctx, "a", u.ID, store.RoleEditor); err != nil {
			return err
		}
		if _, api, err = tx.CreateToken(ctx, u.ID, "cli", 0); err != nil {
			return err
		}
		_, scoped, err = tx.MintNotebookToken(ctx, "a", "nb", TokenTTL)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(jupyter(t).URL)
	front := httptest.NewServer(&Proxy{DB: db, Authn: &auth.Authenticator{DB: db}, Backend: &fakeBackend{target: target, ready: true}})
	t.Cleanup(front.Close)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest("GET", front.URL+"/t/a/notebooks/nb/api", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := get(api); st != http.StatusOK {
		t.Fatalf("alice's API token through the proxy: %d %s", st, body)
	}
	if st, body := get(scoped); st != http.StatusUnauthorized || !strings.Contains(body, "notebook's") || strings.Contains(body, "6.4.12") {
		t.Fatalf("the notebook's token through the proxy: %d %s, want 401 and no notebook", st, body)
	}
}
