package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// Trial is one suggestion of a tuning and the job that tries it.
type Trial struct {
	TuningID   int64
	Number     int
	Params     map[string]string
	State      string
	Reason     string
	JobID      int64
	Job        string
	RunID      string
	Value      *float64
	Step       *int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// Trial states.
const (
	TrialRunning   = "running"
	TrialSucceeded = "succeeded"
	TrialFailed    = "failed"
	TrialPruned    = "pruned"
	TrialCancelled = "cancelled"
)

// TrialDone says whether a trial state is final.
func TrialDone(state string) bool { return state != TrialRunning }

// MaxTrialNumber is the largest trial number (a tuning runs at most 1,000).
const MaxTrialNumber = 999

const trialCols = "tuning_id, number, params, state, reason, job_id, job_name, run_uuid, value, step, created_at, updated_at, finished_at"

// CreateTrial makes trial number of t: a queued job with the spec (its
// tracking run a child of the tuning's run, in the tuning's experiment,
// tagged with the trial's parameters) and the trial's row, which keeps the
// suggestion. The jobs controller admits the job under the tenant's quota
// like any other. A taken job name is ErrConflict.
func (tx *Tx) CreateTrial(ctx context.Context, t Tuning, number int, params map[string]string, jobName string, spec JobSpec) (Trial, Job, error) {
	if number < 0 || number > MaxTrialNumber {
		return Trial{}, Job{}, invalidf("trial number %d is not in 0..%d", number, MaxTrialNumber)
	}
	if _, err := tx.Job(ctx, t.Tenant, jobName); err == nil {
		return Trial{}, Job{}, fmt.Errorf("%w: tenant %s already has a job %s", ErrConflict, t.Tenant, jobName)
	}
	b, err := json.Marshal(params)
	if err != nil {
		return Trial{}, Job{}, err
	}
	tags := []KV{{Key: TagParentRunID, Value: t.RunID}, {Key: TagJob, Value: jobName}, {Key: TagTuning, Value: t.Name},
		{Key: TagTuningTrial, Value: strconv.Itoa(number)}, {Key: TagSourceType, Value: "JOB"},
		{Key: TagSourceName, Value: "ferry tune " + t.Name + " trial " + strconv.Itoa(number)}, {Key: TagUser, Value: t.CreatedBy}}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		tags = append(tags, KV{Key: TagTuningParam + k, Value: params[k]})
	}
	r, err := tx.CreateRun(ctx, NewRun{Tenant: t.Tenant, ExperimentID: t.ExperimentID, UserID: t.CreatedBy, Name: jobName, Tags: tags})
	if err != nil {
		return Trial{}, Job{}, err
	}
	scheduled := RunScheduled
	if _, err := tx.UpdateRun(ctx, t.Tenant, r.Info.ID, RunUpdate{Status: &scheduled}); err != nil {
		return Trial{}, Job{}, err
	}
	spec.Experiment = ""
	j, err := tx.CreateJob(ctx, Job{Tenant: t.Tenant, Name: jobName, Spec: spec, CreatedBy: t.CreatedBy, ExperimentID: t.ExperimentID, RunID: r.Info.ID})
	if err != nil {
		return Trial{}, Job{}, err
	}
	tr := Trial{TuningID: t.ID, Number: number, Params: params, State: TrialRunning, JobID: j.ID, Job: jobName, RunID: r.Info.ID,
		CreatedAt: tx.now, UpdatedAt: tx.now}
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO tuning_trials (tuning_id, number, params, state, job_id, job_name, run_uuid, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, number, string(b), tr.State, j.ID, jobName, tr.RunID, formatTime(tx.now), formatTime(tx.now)); err != nil {
		return Trial{}, Job{}, fmt.Errorf("create trial %d of tuning %s: %w", number, t.Name, mapErr(err))
	}
	return tr, j, nil
}

// Trials lists a tuning's trials by number, from number after (-1: all) on.
func (tx *Tx) Trials(ctx context.Context, tuningID int64, after, limit int) ([]Trial, error) {
	return tx.trials(ctx, "tuning_id = ? AND number > ? ORDER BY number LIMIT ?", tuningID, after, limit)
}

// Trial reads one trial.
func (tx *Tx) Trial(ctx context.Context, tuningID int64, number int) (Trial, error) {
	ts, err := tx.trials(ctx, "tuning_id = ? AND number = ?", tuningID, number)
	if err != nil {
		return Trial{}, err
	}
	if len(ts) == 0 {
		return Trial{}, ErrNotFound
	}
	return ts[0], nil
}

// TrialUpdate is what the controller observed of a trial; nil fields stay.
type TrialUpdate struct {
	State  string
	Reason *string
	Value  *float64
	Step   *int64
}

// UpdateTrial applies u. A trial in a final state keeps its state and
// reason; its value may still be set.
func (tx *Tx) UpdateTrial(ctx context.Context, tuningID int64, number int, u TrialUpdate) (Trial, error) {
	tr, err := tx.Trial(ctx, tuningID, number)
	if err != nil {
		return Trial{}, err
	}
	if !TrialDone(tr.State) {
		if u.State != "" {
			tr.State = u.State
			if TrialDone(u.State) {
				now := tx.now
				tr.FinishedAt = &now
			}
		}
		if u.Reason != nil {
			tr.Reason = truncate(*u.Reason, MaxReason)
		}
	}
	// Only finite values: MLflow takes "Infinity" as a metric, but it is no
	// objective, and JSON has no way to answer it.
	if u.Value != nil && !math.IsNaN(*u.Value) && !math.IsInf(*u.Value, 0) {
		tr.Value = u.Value
	}
	if u.Step != nil {
		tr.Step = u.Step
	}
	tr.UpdatedAt = tx.now
	var value, step any
	if tr.Value != nil {
		value = *tr.Value
	}
	if tr.Step != nil {
		step = *tr.Step
	}
	_, err = tx.tx.ExecContext(ctx, `UPDATE tuning_trials SET state = ?, reason = ?, value = ?, step = ?, updated_at = ?, finished_at = ?
		WHERE tuning_id = ? AND number = ?`, tr.State, tr.Reason, value, step, formatTime(tx.now), optTime(tr.FinishedAt), tuningID, number)
	return tr, mapErr(err)
}

// JobByID reads a job by its id (ErrNotFound once deleted).
func (tx *Tx) JobByID(ctx context.Context, id int64) (Job, error) {
	js, err := tx.jobs(ctx, "id = ?", id)
	if err != nil {
		return Job{}, err
	}
	if len(js) == 0 {
		return Job{}, ErrNotFound
	}
	return js[0], nil
}

func (tx *Tx) trials(ctx context.Context, where string, args ...any) ([]Trial, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+trialCols+" FROM tuning_trials WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Trial{}
	for rows.Next() {
		var tr Trial
		var params, created, updated string
		var value sql.NullFloat64
		var step sql.NullInt64
		var finished sql.NullString
		if err := rows.Scan(&tr.TuningID, &tr.Number, &params, &tr.State, &tr.Reason, &tr.JobID, &tr.Job, &tr.RunID, &value, &step,
			&created, &updated, &finished); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(params), &tr.Params); err != nil {
			return nil, fmt.Errorf("trial %d params: %w", tr.Number, err)
		}
		if value.Valid {
			tr.Value = &value.Float64
		}
		tr.Step = nullInt(step)
		tr.CreatedAt, tr.UpdatedAt, tr.FinishedAt = parseTime(created), parseTime(updated), timePtr(finished)
		out = append(out, tr)
	}
	return out, rows.Err()
}

// CountTrials counts a tuning's trials by state.
func (tx *Tx) CountTrials(ctx context.Context, tuningID int64) (map[string]int, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT state, count(*) FROM tuning_trials WHERE tuning_id = ? GROUP BY state", tuningID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
