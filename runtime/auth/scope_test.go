package auth

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// TestScopedTokensAreAcceptedOnlyWhereAskedForAndHeldToTheirTenant: a
// notebook's token is refused by TokenIdentity (what the notebook proxy and
// the seed endpoints use), accepted by TenantTokenIdentity and
// ScopedTokenIdentity; a run token only by the last; a scope of an unknown
// form by none. TenantRole gives a scoped token no role outside its tenant
// and at most editor inside, an owner's and an admin's included.
func TestScopedTokensAreAcceptedOnlyWhereAskedForAndHeldToTheirTenant(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	secrets := map[string]string{}
	err = db.Write(ctx, func(tx *store.Tx) error {
		for _, n := range []string{"a", "b"} {
			if _, err := tx.CreateTenant(ctx, store.Tenant{Name: n, DisplayName: n, Quota: store.Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
				return err
			}
		}
		owner, err := tx.CreateUser(ctx, "olga", false)
		if err != nil {
			return err
		}
		viewer, err := tx.CreateUser(ctx, "vic", false)
		if err != nil {
			return err
		}
		admin, err := tx.CreateUser(ctx, "root", true)
		if err != nil {
			return err
		}
		for _, m := range []struct {
			id     int64
			tenant string
			role   store.Role
		}{{owner.ID, "a", store.RoleOwner}, {owner.ID, "b", store.RoleOwner}, {viewer.ID, "a", store.RoleViewer}} {
			if err := tx.PutMember(ctx, m.tenant, m.id, m.role); err != nil {
				return err
			}
		}
		for name, tk := range map[string]struct {
			id    int64
			scope string
		}{
			"owner-nb": {owner.ID, store.NotebookScope("a", "lab")}, "viewer-nb": {viewer.ID, store.NotebookScope("a", "lab")},
			"admin-nb": {admin.ID, store.NotebookScope("a", "lab")}, "run": {owner.ID, store.RunScope("a", "r1")},
			"odd": {owner.ID, "admin:a"},
		} {
			if _, secrets[name], err = tx.CreateScopedToken(ctx, tk.id, name, tk.scope, 0); err != nil {
				return err
			}
		}
		_, secrets["owner"], err = tx.CreateToken(ctx, owner.ID, "cli", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{DB: db}
	for name, want := range map[string][3]error{ // TokenIdentity, TenantTokenIdentity, ScopedTokenIdentity
		"owner":    {nil, nil, nil},
		"owner-nb": {ErrTenantScoped, nil, nil},
		"run":      {ErrScoped, ErrScoped, nil},
		"odd":      {ErrScoped, ErrScoped, ErrScoped},
	} {
		for i, f := range []func() (TokenIdentity, error){
			func() (TokenIdentity, error) { return a.TokenIdentity(ctx, secrets[name]) },
			func() (TokenIdentity, error) { return a.TenantTokenIdentity(ctx, secrets[name]) },
			func() (TokenIdentity, error) { return a.ScopedTokenIdentity(ctx, secrets[name]) },
		} {
			if _, err := f(); !errors.Is(err, want[i]) || (err == nil) != (want[i] == nil) {
				t.Errorf("%s, authenticator #%d: %v, want %v", name, i, err, want[i])
			}
			if _, err := f(); err != nil && !Unauthenticated(err) {
				t.Errorf("%s: %v does not count as unauthenticated", name, err)
			}
		}
	}
	for _, c := range []struct {
		token, tenant string
		want          store.Role // "" for none (404)
	}{
		{"owner", "a", store.RoleOwner}, {"owner", "b", store.RoleOwner},
		{"owner-nb", "a", store.RoleEditor}, {"owner-nb", "b", ""},
		{"viewer-nb", "a", store.RoleViewer}, {"viewer-nb", "b", ""},
		{"admin-nb", "a", store.RoleEditor}, {"admin-nb", "b", ""}, {"admin-nb", "missing", ""},
		{"run", "a", store.RoleEditor}, {"run", "b", ""},
	} {
		id, err := a.ScopedTokenIdentity(ctx, secrets[c.token])
		if err != nil {
			t.Fatal(err)
		}
		var role store.Role
		err = db.Read(ctx, func(tx *store.Tx) (err error) { role, err = TenantRole(ctx, tx, id, c.tenant); return err })
		if c.want == "" && !errors.Is(err, store.ErrNotFound) || c.want != "" && (err != nil || role != c.want) {
			t.Errorf("%s in tenant %s: role %q, %v; want %q", c.token, c.tenant, role, err, c.want)
		}
	}
}
