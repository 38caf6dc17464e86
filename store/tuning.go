package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Tuning is a hyperparameter tuning; Spec is its contract spec as JSON
// (the store does not read it). RunID is its tracking run, the parent of
// its trials' runs.
type Tuning struct {
	ID           int64
	Tenant       string
	Name         string
	Spec         string
	State        string
	Reason       string
	ExperimentID int64
	RunID        string
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	FinishedAt   *time.Time
}

// Tuning states.
const (
	TuningRunning   = "running"
	TuningSucceeded = "succeeded"
	TuningFailed    = "failed"
	TuningStopped   = "stopped"
)

// Tags of a tuning's run and of its trials' runs.
const (
	TagTuning      = "ferry.tuning"
	TagTuningTrial = "ferry.tuning.trial"
	// TagTuningParam prefixes a trial run's tag per parameter (tags, not
	// params: a script may log the same name as a param in its own format).
	TagTuningParam = "ferry.tuning.param."
)

// MaxTuningSpec bounds a stored spec.
const MaxTuningSpec = 256 << 10

const tuningCols = "id, tenant, name, spec, state, reason, experiment_id, run_uuid, created_by, created_at, updated_at, finished_at"

// CreateTuning inserts a running tuning and its tracking run in the
// experiment named (created when missing; "" or Default is the tenant's
// Default). A taken name is ErrConflict.
func (tx *Tx) CreateTuning(ctx context.Context, t Tuning, experiment string) (Tuning, error) {
	if len(t.Spec) > MaxTuningSpec {
		return Tuning{}, invalidf("a tuning spec is at most %d bytes", MaxTuningSpec)
	}
	if _, err := tx.Tuning(ctx, t.Tenant, t.Name); err == nil {
		return Tuning{}, fmt.Errorf("%w: tenant %s already has a tuning %s", ErrConflict, t.Tenant, t.Name)
	}
	expID, err := tx.experimentNamed(ctx, t.Tenant, experiment)
	if err != nil {
		return Tuning{}, err
	}
	r, err := tx.CreateRun(ctx, NewRun{Tenant: t.Tenant, ExperimentID: expID, UserID: t.CreatedBy, Name: t.Name,
		Tags: []KV{{Key: TagTuning, Value: t.Name}, {Key: TagSourceType, Value: "TUNING"}, {Key: TagSourceName, Value: "ferry tune " + t.Name}, {Key: TagUser, Value: t.CreatedBy}}})
	if err != nil {
		return Tuning{}, err
	}
	t.State, t.Reason, t.ExperimentID, t.RunID = TuningRunning, "", expID, r.Info.ID
	t.CreatedBy, t.CreatedAt, t.UpdatedAt = truncate(t.CreatedBy, MaxUserName), tx.now, tx.now
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO tunings (tenant, name, spec, state, reason, experiment_id, run_uuid, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?)`, t.Tenant, t.Name, t.Spec, t.State, t.ExperimentID, t.RunID, t.CreatedBy, formatTime(tx.now), formatTime(tx.now))
	if err != nil {
		return Tuning{}, fmt.Errorf("create tuning %s/%s: %w", t.Tenant, t.Name, mapErr(err))
	}
	t.ID, _ = res.LastInsertId()
	return t, nil
}

// experimentNamed is the id of a tenant's experiment by name, created when
// missing ("" and Default are the Default experiment).
func (tx *Tx) experimentNamed(ctx context.Context, tenant, name string) (int64, error) {
	if err := tx.EnsureDefaultExperiment(ctx, tenant); err != nil {
		return 0, err
	}
	if name == "" || name == "Default" {
		return DefaultExperimentID, nil
	}
	e, err := tx.ExperimentByName(ctx, tenant, name)
	if errors.Is(err, ErrNotFound) {
		e, err = tx.CreateExperiment(ctx, Experiment{Tenant: tenant, Name: name})
	}
	if err != nil {
		return 0, fmt.Errorf("experiment %q: %w", name, err)
	}
	return e.ID, nil
}

// Tuning reads a tenant's tuning by name.
func (tx *Tx) Tuning(ctx context.Context, tenant, name string) (Tuning, error) {
	ts, err := tx.tunings(ctx, "tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return Tuning{}, err
	}
	if len(ts) == 0 {
		return Tuning{}, ErrNotFound
	}
	return ts[0], nil
}

// TuningByID reads a tuning by id.
func (tx *Tx) TuningByID(ctx context.Context, id int64) (Tuning, error) {
	ts, err := tx.tunings(ctx, "id = ?", id)
	if err != nil {
		return Tuning{}, err
	}
	if len(ts) == 0 {
		return Tuning{}, ErrNotFound
	}
	return ts[0], nil
}

// ListTunings lists a tenant's tunings in creation order after the cursor (an id).
func (tx *Tx) ListTunings(ctx context.Context, tenant string, after int64, limit int) ([]Tuning, error) {
	return tx.tunings(ctx, "tenant = ? AND id > ? ORDER BY id LIMIT ?", tenant, after, limit)
}

// ActiveTunings lists the tunings the controller has work on: running
// ones, and ended ones with trials still running (to be cancelled).
func (tx *Tx) ActiveTunings(ctx context.Context) ([]Tuning, error) {
	return tx.tunings(ctx, `state = 'running' OR id IN (SELECT tuning_id FROM tuning_trials INDEXED BY tuning_trials_running WHERE state = 'running') ORDER BY id`)
}

// EndTuning moves a running tuning to a final state with its reason and
// ends its tracking run (FINISHED, FAILED, or KILLED when stopped). A
// tuning already ended keeps its state: ErrConflict.
func (tx *Tx) EndTuning(ctx context.Context, id int64, state, reason string) (Tuning, error) {
	t, err := tx.TuningByID(ctx, id)
	if err != nil {
		return Tuning{}, err
	}
	if t.State != TuningRunning {
		return t, fmt.Errorf("%w: tuning %s is already %s", ErrConflict, t.Name, t.State)
	}
	status := map[string]string{TuningSucceeded: RunFinished, TuningFailed: RunFailed, TuningStopped: RunKilled}[state]
	if status == "" {
		return Tuning{}, invalidf("%q is not a final state of a tuning", state)
	}
	t.State, t.Reason, t.UpdatedAt = state, truncate(reason, MaxReason), tx.now
	now := tx.now
	t.FinishedAt = &now
	if _, err := tx.tx.ExecContext(ctx, "UPDATE tunings SET state = ?, reason = ?, updated_at = ?, finished_at = ? WHERE id = ?",
		t.State, t.Reason, formatTime(tx.now), formatTime(tx.now), id); err != nil {
		return Tuning{}, mapErr(err)
	}
	info, err := tx.runInfo(ctx, t.Tenant, t.RunID)
	if errors.Is(err, ErrNotFound) || (err == nil && info.LifecycleStage != StageActive) {
		return t, nil
	}
	if err != nil {
		return Tuning{}, err
	}
	end := tx.now.UnixMilli()
	_, err = tx.UpdateRun(ctx, t.Tenant, t.RunID, RunUpdate{Status: &status, EndTime: &end})
	return t, err
}

// SetTuningReason records why a running tuning waits or what it did last.
func (tx *Tx) SetTuningReason(ctx context.Context, id int64, reason string) error {
	_, err := tx.tx.ExecContext(ctx, "UPDATE tunings SET reason = ?, updated_at = ? WHERE id = ? AND reason != ?",
		truncate(reason, MaxReason), formatTime(tx.now), id, truncate(reason, MaxReason))
	return mapErr(err)
}

func (tx *Tx) tunings(ctx context.Context, where string, args ...any) ([]Tuning, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+tuningCols+" FROM tunings WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Tuning{}
	for rows.Next() {
		var t Tuning
		var created, updated string
		var finished sql.NullString
		if err := rows.Scan(&t.ID, &t.Tenant, &t.Name, &t.Spec, &t.State, &t.Reason, &t.ExperimentID, &t.RunID, &t.CreatedBy, &created, &updated, &finished); err != nil {
			return nil, err
		}
		t.CreatedAt, t.UpdatedAt, t.FinishedAt = parseTime(created), parseTime(updated), timePtr(finished)
		out = append(out, t)
	}
	return out, rows.Err()
}
