package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// PipelineSchedule starts runs of a pipeline on a cron.
type PipelineSchedule struct {
	ID         int64
	Tenant     string
	Name       string
	PipelineID int64
	Pipeline   string
	Version    int64
	Parameters map[string]string
	Cron       string
	Timezone   string
	// Policy is Allow, Forbid or Replace: what a tick does while a run of the schedule is active.
	Policy    string
	Paused    bool
	NextAt    time.Time
	LastAt    *time.Time
	LastRun   string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CreatePipelineSchedule inserts a schedule; a taken name is ErrConflict.
func (tx *Tx) CreatePipelineSchedule(ctx context.Context, s PipelineSchedule) (PipelineSchedule, error) {
	b, err := json.Marshal(s.Parameters)
	if err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt, s.CreatedBy = tx.now, tx.now, truncate(s.CreatedBy, MaxUserName)
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO pipeline_schedules (tenant, name, pipeline_id, version, parameters, cron, timezone, policy, paused, next_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.Tenant, s.Name, s.PipelineID, s.Version, string(b), s.Cron, s.Timezone, s.Policy, s.Paused,
		formatTime(s.NextAt), s.CreatedBy, formatTime(tx.now), formatTime(tx.now))
	if err != nil {
		return s, fmt.Errorf("create schedule %s: %w", s.Name, mapErr(err))
	}
	s.ID, _ = res.LastInsertId()
	return s, nil
}

const scheduleCols = `s.id, s.tenant, s.name, s.pipeline_id, p.name, s.version, s.parameters, s.cron, s.timezone, s.policy, s.paused,
	s.next_at, s.last_at, s.last_run, s.created_by, s.created_at, s.updated_at`

func (tx *Tx) schedules(ctx context.Context, where string, args ...any) ([]PipelineSchedule, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT `+scheduleCols+` FROM pipeline_schedules s JOIN pipelines p ON p.id = s.pipeline_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PipelineSchedule
	for rows.Next() {
		var s PipelineSchedule
		var params, next, created, updated string
		var last sql.NullString
		if err := rows.Scan(&s.ID, &s.Tenant, &s.Name, &s.PipelineID, &s.Pipeline, &s.Version, &params, &s.Cron, &s.Timezone, &s.Policy, &s.Paused,
			&next, &last, &s.LastRun, &s.CreatedBy, &created, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(params), &s.Parameters); err != nil {
			return nil, err
		}
		s.NextAt, s.LastAt, s.CreatedAt, s.UpdatedAt = parseTime(next), timePtr(last), parseTime(created), parseTime(updated)
		out = append(out, s)
	}
	return out, rows.Err()
}

// PipelineSchedule reads a tenant's schedule.
func (tx *Tx) PipelineSchedule(ctx context.Context, tenant, name string) (PipelineSchedule, error) {
	ss, err := tx.schedules(ctx, "s.tenant = ? AND s.name = ?", tenant, name)
	if err != nil {
		return PipelineSchedule{}, err
	}
	if len(ss) == 0 {
		return PipelineSchedule{}, ErrNotFound
	}
	return ss[0], nil
}

// ListPipelineSchedules lists a tenant's schedules by name after the cursor.
func (tx *Tx) ListPipelineSchedules(ctx context.Context, tenant, after string, limit int) ([]PipelineSchedule, error) {
	return tx.schedules(ctx, "s.tenant = ? AND s.name > ? ORDER BY s.name LIMIT ?", tenant, after, limit)
}

// DuePipelineSchedules lists the unpaused schedules whose next tick is not after now.
func (tx *Tx) DuePipelineSchedules(ctx context.Context, now time.Time) ([]PipelineSchedule, error) {
	return tx.schedules(ctx, "s.paused = 0 AND s.next_at <= ? ORDER BY s.next_at", formatTime(now))
}

// UpdatePipelineSchedule writes a schedule's paused flag, next and last tick and last run.
func (tx *Tx) UpdatePipelineSchedule(ctx context.Context, s PipelineSchedule) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE pipeline_schedules SET paused = ?, next_at = ?, last_at = ?, last_run = ?, updated_at = ? WHERE id = ?`,
		s.Paused, formatTime(s.NextAt), nullTime(s.LastAt), s.LastRun, formatTime(tx.now), s.ID)
	return err
}

// DeletePipelineSchedule removes a schedule (its runs stay).
func (tx *Tx) DeletePipelineSchedule(ctx context.Context, tenant, name string) error {
	res, err := tx.tx.ExecContext(ctx, `DELETE FROM pipeline_schedules WHERE tenant = ? AND name = ?`, tenant, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ActiveScheduleRuns lists the pending or running runs a schedule started.
func (tx *Tx) ActiveScheduleRuns(ctx context.Context, tenant, schedule string) ([]PipelineRun, error) {
	return tx.pipelineRuns(ctx, "r.tenant = ? AND r.schedule = ? AND r.state IN ('pending', 'running') ORDER BY r.id", tenant, schedule)
}
