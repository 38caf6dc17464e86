package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// Whoami is the caller and its roles.
func (c *Client) Whoami(ctx context.Context) (v1.Whoami, error) {
	var out v1.Whoami
	return out, c.do(ctx, http.MethodGet, v1.PathWhoami, nil, nil, &out)
}

// CreateTenant creates a tenant (admins).
func (c *Client) CreateTenant(ctx context.Context, in v1.TenantCreate) (v1.Tenant, error) {
	var out v1.Tenant
	return out, c.do(ctx, http.MethodPost, v1.PathTenants, nil, in, &out)
}

// ListTenants is one page of the tenants the caller can see.
func (c *Client) ListTenants(ctx context.Context, o v1.ListOptions) (v1.List[v1.Tenant], error) {
	var out v1.List[v1.Tenant]
	return out, c.do(ctx, http.MethodGet, v1.PathTenants, listQuery(o), nil, &out)
}

// GetTenant reads a tenant.
func (c *Client) GetTenant(ctx context.Context, name string) (v1.Tenant, error) {
	var out v1.Tenant
	return out, c.do(ctx, http.MethodGet, Path(v1.PathTenant, name), nil, nil, &out)
}

// UpdateTenant changes the fields the update sets.
func (c *Client) UpdateTenant(ctx context.Context, name string, in v1.TenantUpdate) (v1.Tenant, error) {
	var out v1.Tenant
	return out, c.do(ctx, http.MethodPatch, Path(v1.PathTenant, name), nil, in, &out)
}

// DeleteTenant deletes a tenant and everything in it (admins).
func (c *Client) DeleteTenant(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathTenant, name), nil, nil, nil)
}

// PutMember gives a user a role in a tenant.
func (c *Client) PutMember(ctx context.Context, tenant, user string, role v1.Role) (v1.Member, error) {
	var out v1.Member
	return out, c.do(ctx, http.MethodPut, Path(v1.PathMember, tenant, user), nil, v1.MemberPut{Role: role}, &out)
}

// RemoveMember removes a user's role in a tenant.
func (c *Client) RemoveMember(ctx context.Context, tenant, user string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathMember, tenant, user), nil, nil, nil)
}

// ListMembers lists a tenant's members.
func (c *Client) ListMembers(ctx context.Context, tenant string) (v1.List[v1.Member], error) {
	var out v1.List[v1.Member]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathMembers, tenant), nil, nil, &out)
}

// CreateUser creates a user and its first token (admins).
func (c *Client) CreateUser(ctx context.Context, in v1.UserCreate) (v1.UserCreated, error) {
	var out v1.UserCreated
	return out, c.do(ctx, http.MethodPost, v1.PathUsers, nil, in, &out)
}

// CreateToken creates a token for the caller.
func (c *Client) CreateToken(ctx context.Context, in v1.TokenCreate) (v1.TokenCreated, error) {
	var out v1.TokenCreated
	return out, c.do(ctx, http.MethodPost, v1.PathTokens, nil, in, &out)
}

// ListTokens lists the caller's live tokens.
func (c *Client) ListTokens(ctx context.Context) (v1.List[v1.Token], error) {
	var out v1.List[v1.Token]
	return out, c.do(ctx, http.MethodGet, v1.PathTokens, nil, nil, &out)
}

// RevokeToken revokes one of the caller's tokens.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathToken, id), nil, nil, nil)
}

// ListUserTokens lists another user's live tokens (admins).
func (c *Client) ListUserTokens(ctx context.Context, user string) (v1.List[v1.Token], error) {
	var out v1.List[v1.Token]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathUserTokens, user), nil, nil, &out)
}

// RevokeUserToken revokes one of another user's tokens (admins).
func (c *Client) RevokeUserToken(ctx context.Context, user, id string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathUserToken, user, id), nil, nil, nil)
}

// DisableUser disables a user: its tokens stop working at once (admins).
func (c *Client) DisableUser(ctx context.Context, user string) (v1.User, error) {
	var out v1.User
	return out, c.do(ctx, http.MethodPost, Path(v1.PathUserDisable, user), nil, nil, &out)
}

// EnableUser enables a disabled user again (admins).
func (c *Client) EnableUser(ctx context.Context, user string) (v1.User, error) {
	var out v1.User
	return out, c.do(ctx, http.MethodPost, Path(v1.PathUserEnable, user), nil, nil, &out)
}

// ListAudit is one page of audit rows, newest first.
func (c *Client) ListAudit(ctx context.Context, f v1.AuditFilter, o v1.ListOptions) (v1.List[v1.AuditEntry], error) {
	q := listQuery(o)
	if f.Tenant != "" {
		q.Set("tenant", f.Tenant)
	}
	if f.Actor != "" {
		q.Set("actor", f.Actor)
	}
	var out v1.List[v1.AuditEntry]
	return out, c.do(ctx, http.MethodGet, v1.PathAudit, q, nil, &out)
}

// VerifyAudit checks the audit log's hash chain (admins).
func (c *Client) VerifyAudit(ctx context.Context) (v1.AuditVerify, error) {
	var out v1.AuditVerify
	return out, c.do(ctx, http.MethodGet, v1.PathAuditVerify, nil, nil, &out)
}

// SubmitJob submits a training job.
func (c *Client) SubmitJob(ctx context.Context, tenant string, in v1.JobSubmit) (v1.Job, error) {
	var out v1.Job
	return out, c.do(ctx, http.MethodPost, Path(v1.PathJobs, tenant), nil, in, &out)
}

// ListJobs is one page of a tenant's jobs in submission order.
func (c *Client) ListJobs(ctx context.Context, tenant string, o v1.ListOptions) (v1.List[v1.Job], error) {
	var out v1.List[v1.Job]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathJobs, tenant), listQuery(o), nil, &out)
}

// GetJob reads a job with its state and replicas.
func (c *Client) GetJob(ctx context.Context, tenant, name string) (v1.Job, error) {
	var out v1.Job
	return out, c.do(ctx, http.MethodGet, Path(v1.PathJob, tenant, name), nil, nil, &out)
}

// CancelJob cancels a job.
func (c *Client) CancelJob(ctx context.Context, tenant, name string) (v1.Job, error) {
	var out v1.Job
	return out, c.do(ctx, http.MethodPost, Path(v1.PathJobCancel, tenant, name), nil, nil, &out)
}

// JobLogs copies a replica's log to w as it arrives (following it with o.Follow).
func (c *Client) JobLogs(ctx context.Context, tenant, name string, o v1.JobLogOptions, w io.Writer) error {
	q := url.Values{"replica": {strconv.Itoa(int(o.Replica))}}
	if o.Follow {
		q.Set("follow", "true")
	}
	req, err := c.request(ctx, http.MethodGet, Path(v1.PathJobLogs, tenant, name), q, nil, "")
	if err != nil {
		return err
	}
	resp, err := c.send(c.stream, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// CreateNotebook creates a notebook.
func (c *Client) CreateNotebook(ctx context.Context, tenant string, in v1.NotebookCreate) (v1.Notebook, error) {
	var out v1.Notebook
	return out, c.do(ctx, http.MethodPost, Path(v1.PathNotebooks, tenant), nil, in, &out)
}

// ListNotebooks is one page of a tenant's notebooks.
func (c *Client) ListNotebooks(ctx context.Context, tenant string, o v1.ListOptions) (v1.List[v1.Notebook], error) {
	var out v1.List[v1.Notebook]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathNotebooks, tenant), listQuery(o), nil, &out)
}

// GetNotebook reads a notebook.
func (c *Client) GetNotebook(ctx context.Context, tenant, name string) (v1.Notebook, error) {
	var out v1.Notebook
	return out, c.do(ctx, http.MethodGet, Path(v1.PathNotebook, tenant, name), nil, nil, &out)
}

// StopNotebook stops a notebook, keeping its workspace.
func (c *Client) StopNotebook(ctx context.Context, tenant, name string) (v1.Notebook, error) {
	var out v1.Notebook
	return out, c.do(ctx, http.MethodPost, Path(v1.PathNotebookStop, tenant, name), nil, nil, &out)
}

// StartNotebook starts a stopped notebook.
func (c *Client) StartNotebook(ctx context.Context, tenant, name string) (v1.Notebook, error) {
	var out v1.Notebook
	return out, c.do(ctx, http.MethodPost, Path(v1.PathNotebookStart, tenant, name), nil, nil, &out)
}

// DeleteNotebook deletes a notebook and its workspace.
func (c *Client) DeleteNotebook(ctx context.Context, tenant, name string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathNotebook, tenant, name), nil, nil, nil)
}
