package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// PipelineRun is one execution of a pipeline version; RunID is its tracking run.
type PipelineRun struct {
	ID         int64
	RunID      string
	Tenant     string
	PipelineID int64
	Pipeline   string
	Version    int64
	Parameters map[string]string
	State      string
	Reason     string
	Schedule   string
	CreatedBy  string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
	UpdatedAt  time.Time
}

// Pipeline run states (steps add skipped and cached).
const (
	PipelineRunPending   = "pending"
	PipelineRunRunning   = "running"
	PipelineRunSucceeded = "succeeded"
	PipelineRunFailed    = "failed"
	PipelineRunCancelled = "cancelled"
)

// CreatePipelineRun makes a pending run of version of p and its tracking
// run (in the pipeline's experiment, SCHEDULED until the run starts).
func (tx *Tx) CreatePipelineRun(ctx context.Context, p Pipeline, version int64, params map[string]string, schedule, user string) (PipelineRun, error) {
	tags := []KV{{Key: TagPipeline, Value: p.Name}, {Key: TagSourceType, Value: "PIPELINE"},
		{Key: TagSourceName, Value: fmt.Sprintf("ferry pipeline %s v%d", p.Name, version)}, {Key: TagUser, Value: user}}
	r, err := tx.CreateRun(ctx, NewRun{Tenant: p.Tenant, ExperimentID: p.ExperimentID, UserID: user, Name: fmt.Sprintf("%s-v%d", p.Name, version), Tags: tags})
	if err != nil {
		return PipelineRun{}, err
	}
	scheduled := RunScheduled
	if _, err := tx.UpdateRun(ctx, p.Tenant, r.Info.ID, RunUpdate{Status: &scheduled}); err != nil {
		return PipelineRun{}, err
	}
	var kvs []KV
	for k, v := range params {
		kvs = append(kvs, KV{Key: k, Value: v})
	}
	if err := tx.logParams(ctx, r.Info.ID, kvs); err != nil {
		return PipelineRun{}, err
	}
	b, err := json.Marshal(params)
	if err != nil {
		return PipelineRun{}, err
	}
	pr := PipelineRun{RunID: r.Info.ID, Tenant: p.Tenant, PipelineID: p.ID, Pipeline: p.Name, Version: version, Parameters: params,
		State: PipelineRunPending, Schedule: schedule, CreatedBy: truncate(user, MaxUserName), CreatedAt: tx.now, UpdatedAt: tx.now}
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO pipeline_runs (run_uuid, tenant, pipeline_id, version, parameters, state, schedule, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pr.RunID, pr.Tenant, pr.PipelineID, pr.Version, string(b), pr.State, pr.Schedule, pr.CreatedBy, formatTime(tx.now), formatTime(tx.now))
	if err != nil {
		return PipelineRun{}, fmt.Errorf("create run of pipeline %s: %w", p.Name, mapErr(err))
	}
	pr.ID, _ = res.LastInsertId()
	return pr, nil
}

const pipelineRunCols = `r.id, r.run_uuid, r.tenant, r.pipeline_id, p.name, r.version, r.parameters, r.state, r.reason, r.schedule,
	r.created_by, r.created_at, r.started_at, r.finished_at, r.updated_at`

func (tx *Tx) pipelineRuns(ctx context.Context, where string, args ...any) ([]PipelineRun, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT `+pipelineRunCols+` FROM pipeline_runs r JOIN pipelines p ON p.id = r.pipeline_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PipelineRun
	for rows.Next() {
		var r PipelineRun
		var params, created, updated string
		var started, finished sql.NullString
		if err := rows.Scan(&r.ID, &r.RunID, &r.Tenant, &r.PipelineID, &r.Pipeline, &r.Version, &params, &r.State, &r.Reason, &r.Schedule,
			&r.CreatedBy, &created, &started, &finished, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(params), &r.Parameters); err != nil {
			return nil, fmt.Errorf("pipeline run %s parameters: %w", r.RunID, err)
		}
		r.CreatedAt, r.UpdatedAt, r.StartedAt, r.FinishedAt = parseTime(created), parseTime(updated), timePtr(started), timePtr(finished)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PipelineRun reads a tenant's pipeline run by its tracking run id.
func (tx *Tx) PipelineRun(ctx context.Context, tenant, runID string) (PipelineRun, error) {
	rs, err := tx.pipelineRuns(ctx, "r.tenant = ? AND r.run_uuid = ?", tenant, runID)
	if err != nil {
		return PipelineRun{}, err
	}
	if len(rs) == 0 {
		return PipelineRun{}, ErrNotFound
	}
	return rs[0], nil
}

// PipelineRunFilter selects runs of a tenant: of one pipeline (0: any), in
// one state ("": any), newest first, below the cursor (an id; 0: first page).
type PipelineRunFilter struct {
	PipelineID int64
	State      string
	Before     int64
	Limit      int
}

// ListPipelineRuns lists a tenant's runs, newest first.
func (tx *Tx) ListPipelineRuns(ctx context.Context, tenant string, f PipelineRunFilter) ([]PipelineRun, error) {
	where, args := []string{"r.tenant = ?"}, []any{tenant}
	if f.PipelineID != 0 {
		where, args = append(where, "r.pipeline_id = ?"), append(args, f.PipelineID)
	}
	if f.State != "" {
		where, args = append(where, "r.state = ?"), append(args, f.State)
	}
	if f.Before > 0 {
		where, args = append(where, "r.id < ?"), append(args, f.Before)
	}
	return tx.pipelineRuns(ctx, strings.Join(where, " AND ")+" ORDER BY r.id DESC LIMIT ?", append(args, f.Limit)...)
}

// ActivePipelineRuns lists every run not yet finished, oldest first.
func (tx *Tx) ActivePipelineRuns(ctx context.Context) ([]PipelineRun, error) {
	return tx.pipelineRuns(ctx, "r.state IN ('pending', 'running') ORDER BY r.id")
}

// SetPipelineRunState moves a run (and its tracking run) to state.
func (tx *Tx) SetPipelineRunState(ctx context.Context, r PipelineRun, state, reason string) (PipelineRun, error) {
	r.State, r.Reason, r.UpdatedAt = state, truncate(reason, MaxReason), tx.now
	status := RunRunning
	switch state {
	case PipelineRunRunning:
		if r.StartedAt == nil {
			t := tx.now
			r.StartedAt = &t
		}
	case PipelineRunSucceeded:
		status = RunFinished
	case PipelineRunFailed:
		status = RunFailed
	case PipelineRunCancelled:
		status = RunKilled
	case PipelineRunPending:
		status, r.FinishedAt = RunScheduled, nil
	}
	if state != PipelineRunPending && state != PipelineRunRunning {
		t := tx.now
		r.FinishedAt = &t
	} else {
		r.FinishedAt = nil
	}
	if _, err := tx.tx.ExecContext(ctx, `UPDATE pipeline_runs SET state = ?, reason = ?, started_at = ?, finished_at = ?, updated_at = ? WHERE id = ?`,
		r.State, r.Reason, nullTime(r.StartedAt), nullTime(r.FinishedAt), formatTime(tx.now), r.ID); err != nil {
		return PipelineRun{}, fmt.Errorf("pipeline run %s: %w", r.RunID, err)
	}
	u := RunUpdate{Status: &status}
	if r.FinishedAt != nil {
		end := r.FinishedAt.UnixMilli()
		u.EndTime = &end
	}
	if _, err := tx.UpdateRun(ctx, r.Tenant, r.RunID, u); err != nil && err != ErrNotFound {
		return PipelineRun{}, err
	}
	return r, nil
}

// CancelPipelineRun ends a run as cancelled, with every step not yet ended
// (the engine deletes the pods of steps that are no longer running).
func (tx *Tx) CancelPipelineRun(ctx context.Context, r PipelineRun, by string) (PipelineRun, error) {
	if _, err := tx.tx.ExecContext(ctx, `UPDATE pipeline_steps SET state = 'cancelled', reason = ?, finished_at = ?, updated_at = ?
		WHERE run_id = ? AND state IN ('pending', 'running')`, truncate("cancelled by "+by, MaxReason), formatTime(tx.now), formatTime(tx.now), r.ID); err != nil {
		return PipelineRun{}, err
	}
	return tx.SetPipelineRunState(ctx, r, PipelineRunCancelled, "cancelled by "+by)
}

// RetryPipelineRun starts a failed or cancelled run again from the steps
// that did not succeed: their rows go (the engine makes them again, with
// fresh attempts); succeeded and cached steps are kept.
func (tx *Tx) RetryPipelineRun(ctx context.Context, r PipelineRun, by string) (PipelineRun, error) {
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM pipeline_steps WHERE run_id = ? AND state NOT IN ('succeeded', 'cached')`, r.ID); err != nil {
		return PipelineRun{}, err
	}
	return tx.SetPipelineRunState(ctx, r, PipelineRunPending, "retried by "+by)
}

// ActivePipelineRunsByUUID reads the runs among uuids that are not yet
// finished, oldest first.
func (tx *Tx) ActivePipelineRunsByUUID(ctx context.Context, uuids []string) ([]PipelineRun, error) {
	if len(uuids) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(uuids)
	if err != nil {
		return nil, err
	}
	return tx.pipelineRuns(ctx, "r.run_uuid IN (SELECT value FROM json_each(?)) AND r.state IN ('pending', 'running') ORDER BY r.id", string(b))
}

// PendingPipelineRuns lists the runs not yet started (new or retried), oldest first.
func (tx *Tx) PendingPipelineRuns(ctx context.Context) ([]PipelineRun, error) {
	return tx.pipelineRuns(ctx, "r.state IN ('pending', 'running') AND r.state = 'pending' ORDER BY r.id")
}
