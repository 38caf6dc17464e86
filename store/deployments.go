package store

import (
	"context"
	"fmt"
	"time"
)

// Deployment is a served model. Spec is the contract's DeploymentSpec as
// JSON (the API layer owns its shape; the store bounds its size).
type Deployment struct {
	ID        int64
	Tenant    string
	Name      string
	Spec      []byte
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	Revisions []Revision
}

// Revision is one model version a deployment serves.
type Revision struct {
	DeploymentID int64
	Number       int64
	Model        string
	Version      int64
	// RunID and Path locate the model file in the run's artifacts; Digest
	// is its sha256.
	RunID, Path, Digest string
	Role                string
	Weight              int32
	Replicas, Ready     int32
	// StageSince is when the weight or role last changed (the bake clock).
	StageSince time.Time
	CreatedAt  time.Time
}

// DeploymentEvent is one recorded decision.
type DeploymentEvent struct {
	At      time.Time
	Kind    string
	Message string
}

// Bounds of stored serving fields.
const (
	MaxDeploymentSpec = 16 << 10
	MaxEventMessage   = 1024
	// KeepEvents is how many events a deployment keeps (oldest dropped).
	KeepEvents = 200
)

// Revision roles.
const (
	RevisionStable  = "stable"
	RevisionCanary  = "canary"
	RevisionRetired = "retired"
)

// CreateDeployment inserts a deployment with its first (stable, weight 100)
// revision; a taken name is ErrConflict.
func (tx *Tx) CreateDeployment(ctx context.Context, d Deployment, first Revision) (Deployment, error) {
	if len(d.Spec) > MaxDeploymentSpec {
		return Deployment{}, invalidf("deployment spec over %d bytes", MaxDeploymentSpec)
	}
	d.CreatedBy = truncate(d.CreatedBy, MaxUserName)
	d.CreatedAt, d.UpdatedAt = tx.now, tx.now
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO deployments (tenant, name, spec, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		d.Tenant, d.Name, string(d.Spec), d.CreatedBy, formatTime(tx.now), formatTime(tx.now))
	if err != nil {
		return Deployment{}, fmt.Errorf("create deployment %s/%s: %w", d.Tenant, d.Name, mapErr(err))
	}
	d.ID, _ = res.LastInsertId()
	first.Role, first.Weight = RevisionStable, 100
	if _, err := tx.AddRevision(ctx, d.ID, first); err != nil {
		return Deployment{}, err
	}
	return tx.DeploymentByID(ctx, d.ID)
}

// AddRevision adds a revision (its number is the deployment's next).
func (tx *Tx) AddRevision(ctx context.Context, deploymentID int64, r Revision) (Revision, error) {
	if err := tx.tx.QueryRowContext(ctx, "UPDATE deployments SET next_revision = next_revision + 1, updated_at = ? WHERE id = ? RETURNING next_revision - 1",
		formatTime(tx.now), deploymentID).Scan(&r.Number); err != nil {
		return Revision{}, mapErr(err)
	}
	r.DeploymentID, r.StageSince, r.CreatedAt = deploymentID, tx.now, tx.now
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO deployment_revisions (deployment_id, number, model, version, run_id, path, digest, role, weight, replicas, ready, stage_since, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`, deploymentID, r.Number, r.Model, r.Version, r.RunID, r.Path, r.Digest, r.Role, r.Weight, r.Replicas,
		formatTime(tx.now), formatTime(tx.now))
	if err != nil {
		return Revision{}, fmt.Errorf("add revision: %w", mapErr(err))
	}
	return r, nil
}

// SetRevisionTraffic changes a revision's role and weight and restarts its
// bake clock when either changed.
func (tx *Tx) SetRevisionTraffic(ctx context.Context, deploymentID, number int64, role string, weight int32) error {
	res, err := tx.tx.ExecContext(ctx, `UPDATE deployment_revisions SET role = ?, weight = ?,
		stage_since = CASE WHEN role = ? AND weight = ? THEN stage_since ELSE ? END WHERE deployment_id = ? AND number = ?`,
		role, weight, role, weight, formatTime(tx.now), deploymentID, number)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	_, err = tx.tx.ExecContext(ctx, "UPDATE deployments SET updated_at = ? WHERE id = ?", formatTime(tx.now), deploymentID)
	return mapErr(err)
}

// SetRevisionReplicas records the replicas asked for and ready.
func (tx *Tx) SetRevisionReplicas(ctx context.Context, deploymentID, number int64, replicas, ready int32) error {
	_, err := tx.tx.ExecContext(ctx, "UPDATE deployment_revisions SET replicas = ?, ready = ? WHERE deployment_id = ? AND number = ?",
		replicas, ready, deploymentID, number)
	return mapErr(err)
}

// UpdateDeploymentSpec replaces a deployment's spec.
func (tx *Tx) UpdateDeploymentSpec(ctx context.Context, id int64, spec []byte) error {
	if len(spec) > MaxDeploymentSpec {
		return invalidf("deployment spec over %d bytes", MaxDeploymentSpec)
	}
	_, err := tx.tx.ExecContext(ctx, "UPDATE deployments SET spec = ?, updated_at = ? WHERE id = ?", string(spec), formatTime(tx.now), id)
	return mapErr(err)
}

// Deployment reads one deployment of a tenant with its revisions.
func (tx *Tx) Deployment(ctx context.Context, tenant, name string) (Deployment, error) {
	ds, err := tx.deployments(ctx, "tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return Deployment{}, err
	}
	if len(ds) == 0 {
		return Deployment{}, fmt.Errorf("%w: deployment %s/%s", ErrNotFound, tenant, name)
	}
	return ds[0], nil
}

// DeploymentByID reads one deployment with its revisions.
func (tx *Tx) DeploymentByID(ctx context.Context, id int64) (Deployment, error) {
	ds, err := tx.deployments(ctx, "id = ?", id)
	if err != nil {
		return Deployment{}, err
	}
	if len(ds) == 0 {
		return Deployment{}, ErrNotFound
	}
	return ds[0], nil
}

// ListDeployments lists a tenant's deployments by id after the cursor.
func (tx *Tx) ListDeployments(ctx context.Context, tenant string, after int64, limit int) ([]Deployment, error) {
	return tx.deployments(ctx, "tenant = ? AND id > ? ORDER BY id LIMIT ?", tenant, after, limit)
}

// AllDeployments lists every deployment (controller, routing table).
func (tx *Tx) AllDeployments(ctx context.Context) ([]Deployment, error) {
	return tx.deployments(ctx, "1 ORDER BY id")
}

// DeleteDeployment removes a deployment, its revisions, keys and events.
func (tx *Tx) DeleteDeployment(ctx context.Context, tenant, name string) error {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM deployments WHERE tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (tx *Tx) deployments(ctx context.Context, where string, args ...any) ([]Deployment, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT id, tenant, name, spec, created_by, created_at, updated_at FROM deployments WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	out := []Deployment{}
	for rows.Next() {
		var d Deployment
		var spec, created, updated string
		if err := rows.Scan(&d.ID, &d.Tenant, &d.Name, &spec, &d.CreatedBy, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		d.Spec, d.CreatedAt, d.UpdatedAt = []byte(spec), parseTime(created), parseTime(updated)
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Revisions, err = tx.revisions(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (tx *Tx) revisions(ctx context.Context, id int64) ([]Revision, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT number, model, version, run_id, path, digest, role, weight, replicas, ready, stage_since, created_at
		FROM deployment_revisions WHERE deployment_id = ? ORDER BY number`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Revision
	for rows.Next() {
		r := Revision{DeploymentID: id}
		var since, created string
		if err := rows.Scan(&r.Number, &r.Model, &r.Version, &r.RunID, &r.Path, &r.Digest, &r.Role, &r.Weight, &r.Replicas, &r.Ready, &since, &created); err != nil {
			return nil, err
		}
		r.StageSince, r.CreatedAt = parseTime(since), parseTime(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddDeploymentEvent records a decision, keeping the newest KeepEvents.
func (tx *Tx) AddDeploymentEvent(ctx context.Context, deploymentID int64, kind, message string) error {
	if _, err := tx.tx.ExecContext(ctx, "INSERT INTO deployment_events (deployment_id, at, kind, message) VALUES (?, ?, ?, ?)",
		deploymentID, formatTime(tx.now), truncate(kind, 64), truncate(message, MaxEventMessage)); err != nil {
		return mapErr(err)
	}
	_, err := tx.tx.ExecContext(ctx, `DELETE FROM deployment_events WHERE deployment_id = ? AND id <=
		(SELECT id FROM deployment_events WHERE deployment_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, deploymentID, deploymentID, KeepEvents)
	return mapErr(err)
}

// DeploymentEvents lists a deployment's newest events, newest last.
func (tx *Tx) DeploymentEvents(ctx context.Context, deploymentID int64, limit int) ([]DeploymentEvent, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT at, kind, message FROM (SELECT id, at, kind, message FROM deployment_events
		WHERE deployment_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id`, deploymentID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []DeploymentEvent{}
	for rows.Next() {
		var e DeploymentEvent
		var at string
		if err := rows.Scan(&at, &e.Kind, &e.Message); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
