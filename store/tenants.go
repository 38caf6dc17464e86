package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Role is a user's role in a tenant.
type Role string

// Roles, from most to least privileged.
const (
	RoleOwner  Role = "owner"
	RoleEditor Role = "editor"
	RoleViewer Role = "viewer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleEditor || r == RoleViewer }

var roleRank = map[Role]int{RoleViewer: 1, RoleEditor: 2, RoleOwner: 3}

// AtLeast reports whether r grants everything need does.
func (r Role) AtLeast(need Role) bool { return roleRank[r] >= roleRank[need] }

// Quota is a tenant's resource limits, as Kubernetes quantities.
type Quota struct {
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
	GPU    int64  `json:"gpu"`
}

// Tenant is a team's slice of the platform (a namespace later on).
type Tenant struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Quota       Quota  `json:"quota"`
	// NotebookIdleSeconds: notebooks unused this long are stopped (0: never).
	NotebookIdleSeconds int64     `json:"notebookIdleSeconds"`
	Generation          int64     `json:"generation"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
	// UnlabelledNamespace: the tenant predates the namespace owner label
	// (it existed before migration 0031), so its namespace may lack it.
	// Cleared by SetNamespaceLabelled; never set on a new tenant.
	UnlabelledNamespace bool `json:"-"`
}

// Member is one user's role in one tenant.
type Member struct {
	Tenant string `json:"tenant"`
	User   string `json:"user"`
	Role   Role   `json:"role"`
}

const tenantCols = "name, display_name, quota_cpu, quota_memory, quota_gpu, generation, created_at, updated_at, notebook_idle_seconds, unlabelled_namespace"

// CreateTenant inserts a tenant; a taken name is ErrConflict.
func (tx *Tx) CreateTenant(ctx context.Context, t Tenant) (Tenant, error) {
	t.CreatedAt, t.UpdatedAt, t.Generation = tx.now, tx.now, 1
	t.UnlabelledNamespace = false
	t.DisplayName = truncate(t.DisplayName, MaxDisplayName)
	if t.NotebookIdleSeconds == 0 {
		t.NotebookIdleSeconds = 3600
	}
	_, err := tx.tx.ExecContext(ctx, "INSERT INTO tenants ("+tenantCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
		t.Name, t.DisplayName, t.Quota.CPU, t.Quota.Memory, t.Quota.GPU, t.Generation, formatTime(t.CreatedAt), formatTime(t.UpdatedAt), t.NotebookIdleSeconds)
	if err != nil {
		return Tenant{}, fmt.Errorf("create tenant %s: %w", t.Name, mapErr(err))
	}
	return t, nil
}

// Tenant reads one tenant.
func (tx *Tx) Tenant(ctx context.Context, name string) (Tenant, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+tenantCols+" FROM tenants WHERE name = ?", name)
	if err != nil {
		return Tenant{}, err
	}
	ts, err := scanTenants(rows)
	if err != nil {
		return Tenant{}, err
	}
	if len(ts) == 0 {
		return Tenant{}, ErrNotFound
	}
	return ts[0], nil
}

// MaxDisplayName bounds a tenant's stored display name.
const MaxDisplayName = 200

// UpdateTenant writes display name and quota and bumps the generation.
func (tx *Tx) UpdateTenant(ctx context.Context, t Tenant) (Tenant, error) {
	t.DisplayName = truncate(t.DisplayName, MaxDisplayName)
	res, err := tx.tx.ExecContext(ctx, `UPDATE tenants SET display_name = ?, quota_cpu = ?, quota_memory = ?, quota_gpu = ?,
		notebook_idle_seconds = ?, generation = generation + 1, updated_at = ? WHERE name = ?`,
		t.DisplayName, t.Quota.CPU, t.Quota.Memory, t.Quota.GPU, t.NotebookIdleSeconds, formatTime(tx.now), t.Name)
	if err != nil {
		return Tenant{}, mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Tenant{}, ErrNotFound
	}
	return tx.Tenant(ctx, t.Name)
}

// DeleteTenant removes a tenant and (by cascade) its memberships.
func (tx *Tx) DeleteTenant(ctx context.Context, name string) error {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM tenants WHERE name = ?", name)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ListTenants lists tenants by name after the cursor. With userID > 0 only the
// tenants the user is a member of are listed.
func (tx *Tx) ListTenants(ctx context.Context, userID int64, after string, limit int) ([]Tenant, error) {
	var rows *sql.Rows
	var err error
	if userID > 0 {
		rows, err = tx.tx.QueryContext(ctx, `SELECT t.`+tenantColsT+` FROM memberships m JOIN tenants t ON t.name = m.tenant
			WHERE m.user_id = ? AND m.tenant > ? ORDER BY m.tenant LIMIT ?`, userID, after, limit)
	} else {
		rows, err = tx.tx.QueryContext(ctx, "SELECT "+tenantCols+" FROM tenants WHERE name > ? ORDER BY name LIMIT ?", after, limit)
	}
	if err != nil {
		return nil, err
	}
	return scanTenants(rows)
}

const tenantColsT = "name, t.display_name, t.quota_cpu, t.quota_memory, t.quota_gpu, t.generation, t.created_at, t.updated_at, t.notebook_idle_seconds, t.unlabelled_namespace"

func scanTenants(rows *sql.Rows) ([]Tenant, error) {
	defer rows.Close()
	out := []Tenant{}
	for rows.Next() {
		var t Tenant
		var created, updated string
		if err := rows.Scan(&t.Name, &t.DisplayName, &t.Quota.CPU, &t.Quota.Memory, &t.Quota.GPU, &t.Generation, &created, &updated, &t.NotebookIdleSeconds, &t.UnlabelledNamespace); err != nil {
			return nil, err
		}
		t.CreatedAt, t.UpdatedAt = parseTime(created), parseTime(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetNamespaceLabelled clears a tenant's UnlabelledNamespace flag: its
// namespace carries the owner label now. It changes nothing else (no new
// generation: the tenant's objects are the same).
func (tx *Tx) SetNamespaceLabelled(ctx context.Context, name string) error {
	_, err := tx.tx.ExecContext(ctx, "UPDATE tenants SET unlabelled_namespace = 0 WHERE name = ?", name)
	return err
}

// Role returns the user's role in the tenant, or ErrNotFound when it has none.
func (tx *Tx) Role(ctx context.Context, userID int64, tenant string) (Role, error) {
	var r Role
	err := tx.tx.QueryRowContext(ctx, "SELECT role FROM memberships WHERE user_id = ? AND tenant = ?", userID, tenant).Scan(&r)
	return r, mapErr(err)
}

// PutMember sets (inserts or replaces) a user's role in a tenant.
func (tx *Tx) PutMember(ctx context.Context, tenant string, userID int64, role Role) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO memberships (tenant, user_id, role) VALUES (?, ?, ?)
		ON CONFLICT (tenant, user_id) DO UPDATE SET role = excluded.role`, tenant, userID, string(role))
	return mapErr(err)
}

// DeleteMember removes a user's role in a tenant.
func (tx *Tx) DeleteMember(ctx context.Context, tenant string, userID int64) error {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM memberships WHERE tenant = ? AND user_id = ?", tenant, userID)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Members lists a tenant's members by user name.
func (tx *Tx) Members(ctx context.Context, tenant string) ([]Member, error) {
	return tx.members(ctx, "m.tenant = ? ORDER BY u.name", tenant)
}

// Memberships lists the user's roles by tenant name.
func (tx *Tx) Memberships(ctx context.Context, userID int64) ([]Member, error) {
	return tx.members(ctx, "m.user_id = ? ORDER BY m.tenant", userID)
}

func (tx *Tx) members(ctx context.Context, where string, arg any) ([]Member, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT m.tenant, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE `+where, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.Tenant, &m.User, &m.Role); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
