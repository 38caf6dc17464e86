package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Pipeline is a named pipeline of a tenant.
type Pipeline struct {
	ID            int64
	Tenant        string
	Name          string
	Description   string
	LatestVersion int64
	// ExperimentID is the experiment its runs are tracked in.
	ExperimentID int64
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// PipelineVersion is one immutable spec of a pipeline (canonical JSON).
type PipelineVersion struct {
	PipelineID int64
	Version    int64
	Digest     string
	Spec       string
	CreatedBy  string
	CreatedAt  time.Time
}

// MaxPipelineSpec bounds a stored spec.
const MaxPipelineSpec = 256 << 10

// TagPipeline marks a pipeline run's and its steps' tracking runs.
const (
	TagPipeline     = "ferry.pipeline"
	TagPipelineStep = "ferry.pipeline.step"
)

// PutPipelineVersion creates the pipeline (and its experiment, named
// "pipeline <name>") when missing and adds spec as its next version,
// unless the latest version has the same digest (then that one is
// answered, created false).
func (tx *Tx) PutPipelineVersion(ctx context.Context, tenant, name, description, spec, digest, user string) (Pipeline, PipelineVersion, bool, error) {
	if len(spec) > MaxPipelineSpec {
		return Pipeline{}, PipelineVersion{}, false, invalidf("a pipeline spec is at most %d bytes", MaxPipelineSpec)
	}
	user = truncate(user, MaxUserName)
	p, err := tx.Pipeline(ctx, tenant, name)
	if errors.Is(err, ErrNotFound) {
		if err := tx.EnsureDefaultExperiment(ctx, tenant); err != nil {
			return Pipeline{}, PipelineVersion{}, false, err
		}
		expName := "pipeline " + name
		e, err := tx.ExperimentByName(ctx, tenant, expName)
		if errors.Is(err, ErrNotFound) {
			e, err = tx.CreateExperiment(ctx, Experiment{Tenant: tenant, Name: expName})
		}
		if err != nil {
			return Pipeline{}, PipelineVersion{}, false, fmt.Errorf("experiment of pipeline %s: %w", name, err)
		}
		res, err := tx.tx.ExecContext(ctx, `INSERT INTO pipelines (tenant, name, description, experiment_id, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, tenant, name, truncate(description, 4096), e.ID, user, formatTime(tx.now), formatTime(tx.now))
		if err != nil {
			return Pipeline{}, PipelineVersion{}, false, fmt.Errorf("create pipeline %s/%s: %w", tenant, name, mapErr(err))
		}
		id, _ := res.LastInsertId()
		p = Pipeline{ID: id, Tenant: tenant, Name: name, Description: truncate(description, 4096), ExperimentID: e.ID, CreatedBy: user, CreatedAt: tx.now, UpdatedAt: tx.now}
	} else if err != nil {
		return Pipeline{}, PipelineVersion{}, false, err
	}
	if p.LatestVersion > 0 {
		latest, err := tx.PipelineVersion(ctx, p.ID, p.LatestVersion)
		if err != nil {
			return Pipeline{}, PipelineVersion{}, false, err
		}
		if latest.Digest == digest {
			return p, latest, false, nil
		}
	}
	v := PipelineVersion{PipelineID: p.ID, Version: p.LatestVersion + 1, Digest: digest, Spec: spec, CreatedBy: user, CreatedAt: tx.now}
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO pipeline_versions (pipeline_id, version, digest, spec, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		v.PipelineID, v.Version, v.Digest, v.Spec, v.CreatedBy, formatTime(tx.now)); err != nil {
		return Pipeline{}, PipelineVersion{}, false, fmt.Errorf("add version of pipeline %s: %w", name, mapErr(err))
	}
	p.LatestVersion, p.UpdatedAt, p.Description = v.Version, tx.now, truncate(description, 4096)
	if _, err := tx.tx.ExecContext(ctx, `UPDATE pipelines SET latest_version = ?, description = ?, updated_at = ? WHERE id = ?`,
		p.LatestVersion, p.Description, formatTime(tx.now), p.ID); err != nil {
		return Pipeline{}, PipelineVersion{}, false, err
	}
	return p, v, true, nil
}

const pipelineCols = "id, tenant, name, description, latest_version, experiment_id, created_by, created_at, updated_at"

func scanPipeline(scan func(...any) error) (Pipeline, error) {
	var p Pipeline
	var created, updated string
	err := scan(&p.ID, &p.Tenant, &p.Name, &p.Description, &p.LatestVersion, &p.ExperimentID, &p.CreatedBy, &created, &updated)
	p.CreatedAt, p.UpdatedAt = parseTime(created), parseTime(updated)
	return p, err
}

// Pipeline reads a tenant's pipeline.
func (tx *Tx) Pipeline(ctx context.Context, tenant, name string) (Pipeline, error) {
	p, err := scanPipeline(tx.tx.QueryRowContext(ctx, `SELECT `+pipelineCols+` FROM pipelines WHERE tenant = ? AND name = ?`, tenant, name).Scan)
	return p, mapErr(err)
}

// PipelineByID reads a pipeline by its id.
func (tx *Tx) PipelineByID(ctx context.Context, id int64) (Pipeline, error) {
	p, err := scanPipeline(tx.tx.QueryRowContext(ctx, `SELECT `+pipelineCols+` FROM pipelines WHERE id = ?`, id).Scan)
	return p, mapErr(err)
}

// ListPipelines lists a tenant's pipelines by name after the cursor (a name).
func (tx *Tx) ListPipelines(ctx context.Context, tenant, after string, limit int) ([]Pipeline, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT `+pipelineCols+` FROM pipelines WHERE tenant = ? AND name > ? ORDER BY name LIMIT ?`, tenant, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pipeline
	for rows.Next() {
		p, err := scanPipeline(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PipelineVersion reads one version of a pipeline.
func (tx *Tx) PipelineVersion(ctx context.Context, pipelineID, version int64) (PipelineVersion, error) {
	vs, err := tx.pipelineVersions(ctx, `pipeline_id = ? AND version = ?`, pipelineID, version)
	if err != nil {
		return PipelineVersion{}, err
	}
	if len(vs) == 0 {
		return PipelineVersion{}, ErrNotFound
	}
	return vs[0], nil
}

// ListPipelineVersions lists a pipeline's versions, newest first, below
// the cursor (a version; 0 is the first page).
func (tx *Tx) ListPipelineVersions(ctx context.Context, pipelineID, before int64, limit int) ([]PipelineVersion, error) {
	if before <= 0 {
		before = 1 << 62
	}
	return tx.pipelineVersions(ctx, `pipeline_id = ? AND version < ? ORDER BY version DESC LIMIT ?`, pipelineID, before, limit)
}

func (tx *Tx) pipelineVersions(ctx context.Context, where string, args ...any) ([]PipelineVersion, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT pipeline_id, version, digest, spec, created_by, created_at FROM pipeline_versions WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PipelineVersion
	for rows.Next() {
		var v PipelineVersion
		var created string
		if err := rows.Scan(&v.PipelineID, &v.Version, &v.Digest, &v.Spec, &v.CreatedBy, &created); err != nil {
			return nil, err
		}
		v.CreatedAt = parseTime(created)
		out = append(out, v)
	}
	return out, rows.Err()
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func timePtr(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTime(s.String)
	return &t
}
