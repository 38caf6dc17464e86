package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// JobState is where a training job is in its life.
type JobState string

// Job states. Queued jobs exist in Kubernetes suspended; admission starts them.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
)

// Done says whether the state is final.
func (s JobState) Done() bool { return s == JobSucceeded || s == JobFailed || s == JobCancelled }

// Resources is what one replica asks for, as Kubernetes quantities.
type Resources struct {
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
	GPU    int64  `json:"gpu"`
}

// JobSpec is what a user submits.
type JobSpec struct {
	Image      string            `json:"image"`
	Command    []string          `json:"command"`
	Args       []string          `json:"args,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	Replicas   int32             `json:"replicas"`
	Resources  Resources         `json:"resources"`
	MaxRetries int32             `json:"maxRetries"`
	// Experiment names the MLflow experiment of the job's run ("": Default).
	Experiment string `json:"experiment,omitempty"`
}

// Replica is one replica's state as Kubernetes reports it.
type Replica struct {
	Index    int32  `json:"index"`
	Pod      string `json:"pod,omitempty"`
	Node     string `json:"node,omitempty"`
	Phase    string `json:"phase"`
	Restarts int32  `json:"restarts"`
	ExitCode *int32 `json:"exitCode,omitempty"`
	// LogSaved says the pod's log was copied to the blob store.
	LogSaved bool `json:"logSaved,omitempty"`
}

// Job is a training job.
type Job struct {
	ID         int64      `json:"id"`
	Tenant     string     `json:"tenant"`
	Name       string     `json:"name"`
	Spec       JobSpec    `json:"spec"`
	State      JobState   `json:"state"`
	Reason     string     `json:"reason,omitempty"`
	Replicas   []Replica  `json:"replicas"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	AdmittedAt *time.Time `json:"admittedAt,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	// ExperimentID and RunID are the MLflow run the job is tracked as
	// (RunID "" for jobs from before tracking).
	ExperimentID int64  `json:"experimentId"`
	RunID        string `json:"runId,omitempty"`
	// TokenID is the run-scoped token its pods log with ("" once revoked).
	TokenID string `json:"-"`
}

// MaxReason bounds a job's or notebook's stored reason (controllers put
// error messages there).
const MaxReason = 1024

const jobCols = "id, tenant, name, spec, state, reason, replicas, created_by, created_at, admitted_at, started_at, finished_at, updated_at, " +
	"COALESCE(experiment_id, 0), COALESCE(run_id, ''), COALESCE(token_id, '')"

// CreateJob inserts a queued job; a taken name in the tenant is ErrConflict.
// A job with a RunID is tracked as that run (made in the same transaction,
// see CreateJobRun), which is SCHEDULED until the job runs.
func (tx *Tx) CreateJob(ctx context.Context, j Job) (Job, error) {
	spec, err := json.Marshal(j.Spec)
	if err != nil {
		return Job{}, err
	}
	j.State, j.Replicas, j.CreatedAt, j.UpdatedAt = JobQueued, []Replica{}, tx.now, tx.now
	if j.Reason == "" {
		j.Reason = "waiting for admission"
	}
	j.Reason, j.CreatedBy = truncate(j.Reason, MaxReason), truncate(j.CreatedBy, MaxUserName)
	var runID any
	if j.RunID != "" {
		runID = j.RunID
	}
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO jobs (tenant, name, spec, state, reason, replicas, created_by, created_at, updated_at, experiment_id, run_id)
		VALUES (?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?)`, j.Tenant, j.Name, string(spec), string(j.State), j.Reason, j.CreatedBy, formatTime(tx.now), formatTime(tx.now), j.ExperimentID, runID)
	if err != nil {
		return Job{}, fmt.Errorf("create job %s/%s: %w", j.Tenant, j.Name, mapErr(err))
	}
	j.ID, _ = res.LastInsertId()
	return j, nil
}

// Job reads one job of a tenant.
func (tx *Tx) Job(ctx context.Context, tenant, name string) (Job, error) {
	js, err := tx.jobs(ctx, "tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return Job{}, err
	}
	if len(js) == 0 {
		return Job{}, ErrNotFound
	}
	return js[0], nil
}

// ListJobs lists a tenant's jobs in submission order after the cursor (an id).
func (tx *Tx) ListJobs(ctx context.Context, tenant string, after int64, limit int) ([]Job, error) {
	return tx.jobs(ctx, "tenant = ? AND id > ? ORDER BY id LIMIT ?", tenant, after, limit)
}

// ActiveJobs lists every job not yet finished, in submission order.
func (tx *Tx) ActiveJobs(ctx context.Context) ([]Job, error) {
	return tx.jobs(ctx, "state IN ('queued', 'running') ORDER BY id")
}

// JobUpdate is a change of a job's state read from Kubernetes or decided by
// admission. Nil fields are left as they are.
type JobUpdate struct {
	State      JobState
	Reason     *string
	Replicas   []Replica
	AdmittedAt *time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// UpdateJob applies u to the job. A job in a final state keeps it (its
// replicas may still change, e.g. when logs are saved).
func (tx *Tx) UpdateJob(ctx context.Context, id int64, u JobUpdate) (Job, error) {
	js, err := tx.jobs(ctx, "id = ?", id)
	if err != nil {
		return Job{}, err
	}
	if len(js) == 0 {
		return Job{}, ErrNotFound
	}
	j := js[0]
	before := j.State
	if u.State != "" && !j.State.Done() {
		j.State = u.State
	}
	if u.Reason != nil {
		j.Reason = truncate(*u.Reason, MaxReason)
	}
	if u.Replicas != nil {
		j.Replicas = u.Replicas
	}
	set := func(dst **time.Time, v *time.Time) {
		if v != nil && *dst == nil {
			t := v.UTC()
			*dst = &t
		}
	}
	set(&j.AdmittedAt, u.AdmittedAt)
	set(&j.StartedAt, u.StartedAt)
	set(&j.FinishedAt, u.FinishedAt)
	reps, err := json.Marshal(j.Replicas)
	if err != nil {
		return Job{}, err
	}
	j.UpdatedAt = tx.now
	_, err = tx.tx.ExecContext(ctx, `UPDATE jobs SET state = ?, reason = ?, replicas = ?, admitted_at = ?, started_at = ?, finished_at = ?, updated_at = ?
		WHERE id = ?`, string(j.State), j.Reason, string(reps), optTime(j.AdmittedAt), optTime(j.StartedAt), optTime(j.FinishedAt), formatTime(tx.now), id)
	if err != nil {
		return Job{}, mapErr(err)
	}
	if j.State != before {
		if err := tx.jobRunFollows(ctx, &j); err != nil {
			return Job{}, err
		}
	}
	return j, nil
}

// DeleteJob removes a job's record and revokes its run token (its run stays).
func (tx *Tx) DeleteJob(ctx context.Context, tenant, name string) error {
	if j, err := tx.Job(ctx, tenant, name); err == nil && j.TokenID != "" {
		if err := tx.RevokeTokenID(ctx, j.TokenID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM jobs WHERE tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func (tx *Tx) jobs(ctx context.Context, where string, args ...any) ([]Job, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+jobCols+" FROM jobs WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		var j Job
		var spec, reps, created, updated string
		var admitted, started, finished sql.NullString
		if err := rows.Scan(&j.ID, &j.Tenant, &j.Name, &spec, &j.State, &j.Reason, &reps, &j.CreatedBy, &created, &admitted, &started, &finished, &updated,
			&j.ExperimentID, &j.RunID, &j.TokenID); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(spec), &j.Spec); err != nil {
			return nil, fmt.Errorf("job %d spec: %w", j.ID, err)
		}
		if err := json.Unmarshal([]byte(reps), &j.Replicas); err != nil {
			return nil, fmt.Errorf("job %d replicas: %w", j.ID, err)
		}
		j.CreatedAt, j.UpdatedAt = parseTime(created), parseTime(updated)
		for _, p := range []struct {
			s   sql.NullString
			dst **time.Time
		}{{admitted, &j.AdmittedAt}, {started, &j.StartedAt}, {finished, &j.FinishedAt}} {
			if p.s.Valid {
				t := parseTime(p.s.String)
				*p.dst = &t
			}
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
