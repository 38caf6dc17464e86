package store

import (
	"context"
	"fmt"
	"time"
)

// NotebookState says whether a notebook's pod runs.
type NotebookState string

// Notebook states: a stopped notebook keeps its workspace.
const (
	NotebookRunning NotebookState = "running"
	NotebookStopped NotebookState = "stopped"
)

// Notebook is a tenant's Jupyter server.
type Notebook struct {
	Tenant       string        `json:"tenant"`
	Name         string        `json:"name"`
	Image        string        `json:"image"`
	Resources    Resources     `json:"resources"`
	Workspace    string        `json:"workspace"`
	State        NotebookState `json:"state"`
	Reason       string        `json:"reason,omitempty"`
	LastActivity time.Time     `json:"lastActivity"`
	CreatedBy    string        `json:"createdBy"`
	CreatedAt    time.Time     `json:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt"`
}

const notebookCols = "tenant, name, image, cpu, memory, gpu, workspace, state, reason, last_activity, created_by, created_at, updated_at"

// CreateNotebook inserts a running notebook; a taken name is ErrConflict.
func (tx *Tx) CreateNotebook(ctx context.Context, n Notebook) (Notebook, error) {
	n.State, n.LastActivity, n.CreatedAt, n.UpdatedAt = NotebookRunning, tx.now, tx.now, tx.now
	n.Reason, n.CreatedBy = truncate(n.Reason, MaxReason), truncate(n.CreatedBy, MaxUserName)
	_, err := tx.tx.ExecContext(ctx, "INSERT INTO notebooks ("+notebookCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		n.Tenant, n.Name, n.Image, n.Resources.CPU, n.Resources.Memory, n.Resources.GPU, n.Workspace, string(n.State), n.Reason,
		formatTime(n.LastActivity), n.CreatedBy, formatTime(n.CreatedAt), formatTime(n.UpdatedAt))
	if err != nil {
		return Notebook{}, fmt.Errorf("create notebook %s/%s: %w", n.Tenant, n.Name, mapErr(err))
	}
	return n, nil
}

// Notebook reads one notebook.
func (tx *Tx) Notebook(ctx context.Context, tenant, name string) (Notebook, error) {
	ns, err := tx.notebooks(ctx, "tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return Notebook{}, err
	}
	if len(ns) == 0 {
		return Notebook{}, ErrNotFound
	}
	return ns[0], nil
}

// ListNotebooks lists a tenant's notebooks by name after the cursor.
func (tx *Tx) ListNotebooks(ctx context.Context, tenant, after string, limit int) ([]Notebook, error) {
	return tx.notebooks(ctx, "tenant = ? AND name > ? ORDER BY name LIMIT ?", tenant, after, limit)
}

// AllNotebooks lists every notebook (for the controller).
func (tx *Tx) AllNotebooks(ctx context.Context) ([]Notebook, error) {
	return tx.notebooks(ctx, "1 = 1 ORDER BY tenant, name")
}

// SetNotebookState changes a notebook's state and reason; stopping it
// revokes its token (see MintNotebookToken).
func (tx *Tx) SetNotebookState(ctx context.Context, tenant, name string, state NotebookState, reason string) (Notebook, error) {
	res, err := tx.tx.ExecContext(ctx, "UPDATE notebooks SET state = ?, reason = ?, updated_at = ? WHERE tenant = ? AND name = ?",
		string(state), truncate(reason, MaxReason), formatTime(tx.now), tenant, name)
	if err != nil {
		return Notebook{}, mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Notebook{}, ErrNotFound
	}
	// A stopped notebook's pod is gone: so is its token's use, at once.
	if state == NotebookStopped {
		if err := tx.revokeNotebookToken(ctx, tenant, name); err != nil {
			return Notebook{}, err
		}
	}
	return tx.Notebook(ctx, tenant, name)
}

// TouchNotebook moves a notebook's last activity forward (never back).
func (tx *Tx) TouchNotebook(ctx context.Context, tenant, name string, at time.Time) error {
	n, err := tx.Notebook(ctx, tenant, name)
	if err != nil || !at.After(n.LastActivity) {
		return err
	}
	_, err = tx.tx.ExecContext(ctx, "UPDATE notebooks SET last_activity = ? WHERE tenant = ? AND name = ?", formatTime(at), tenant, name)
	return mapErr(err)
}

// DeleteNotebook removes a notebook's record.
func (tx *Tx) DeleteNotebook(ctx context.Context, tenant, name string) error {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM notebooks WHERE tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (tx *Tx) notebooks(ctx context.Context, where string, args ...any) ([]Notebook, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+notebookCols+" FROM notebooks WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Notebook{}
	for rows.Next() {
		var n Notebook
		var last, created, updated string
		if err := rows.Scan(&n.Tenant, &n.Name, &n.Image, &n.Resources.CPU, &n.Resources.Memory, &n.Resources.GPU, &n.Workspace, &n.State, &n.Reason,
			&last, &n.CreatedBy, &created, &updated); err != nil {
			return nil, err
		}
		n.LastActivity, n.CreatedAt, n.UpdatedAt = parseTime(last), parseTime(created), parseTime(updated)
		out = append(out, n)
	}
	return out, rows.Err()
}
