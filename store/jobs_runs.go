package store

import (
	"context"
	"errors"
	"fmt"
)

// Tags ferry sets on a job's run, so MLflow clients see where it came from.
const (
	TagJob        = "ferry.job"
	TagSourceType = "mlflow.source.type"
	TagSourceName = "mlflow.source.name"
)

// RunScope is the scope of a token that may write only to one run.
func RunScope(tenant, runID string) string { return "run:" + tenant + ":" + runID }

// CreateJobRun makes the run a job will be tracked as, in the experiment
// named (created when missing; "" is the tenant's Default experiment), and
// marks it SCHEDULED. Call it in the job's own transaction.
func (tx *Tx) CreateJobRun(ctx context.Context, tenant, experiment, job, user string) (RunInfo, error) {
	if err := tx.EnsureDefaultExperiment(ctx, tenant); err != nil {
		return RunInfo{}, err
	}
	var expID int64
	if experiment != "" && experiment != "Default" {
		e, err := tx.ExperimentByName(ctx, tenant, experiment)
		if errors.Is(err, ErrNotFound) {
			e, err = tx.CreateExperiment(ctx, Experiment{Tenant: tenant, Name: experiment})
		}
		if err != nil {
			return RunInfo{}, fmt.Errorf("experiment %q: %w", experiment, err)
		}
		expID = e.ID
	}
	r, err := tx.CreateRun(ctx, NewRun{Tenant: tenant, ExperimentID: expID, UserID: user, Name: job,
		Tags: []KV{{Key: TagJob, Value: job}, {Key: TagSourceType, Value: "JOB"}, {Key: TagSourceName, Value: "ferry job " + job}, {Key: TagUser, Value: user}}})
	if err != nil {
		return RunInfo{}, err
	}
	scheduled := RunScheduled
	return tx.UpdateRun(ctx, tenant, r.Info.ID, RunUpdate{Status: &scheduled})
}

// jobRunFollows moves a job's run to the job's state (RUNNING, FINISHED,
// FAILED, KILLED) and, once the job is done, revokes its run token. A run
// the user deleted or already ended by itself (mlflow.end_run) keeps what
// it has: the job's life does not depend on its run.
func (tx *Tx) jobRunFollows(ctx context.Context, j *Job) error {
	if j.State.Done() && j.TokenID != "" {
		if err := tx.RevokeTokenID(ctx, j.TokenID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, "UPDATE jobs SET token_id = NULL WHERE id = ?", j.ID); err != nil {
			return err
		}
		j.TokenID = ""
	}
	if j.RunID == "" {
		return nil
	}
	status := map[JobState]string{JobRunning: RunRunning, JobSucceeded: RunFinished, JobFailed: RunFailed, JobCancelled: RunKilled}[j.State]
	if status == "" {
		return nil
	}
	info, err := tx.runInfo(ctx, j.Tenant, j.RunID)
	if errors.Is(err, ErrNotFound) || (err == nil && info.LifecycleStage != StageActive) {
		return nil
	}
	if err != nil {
		return err
	}
	// A script that ended its run itself said how it went; a failed or
	// cancelled job overrides a FINISHED it claimed.
	if info.Status != RunRunning && info.Status != RunScheduled && j.State == JobSucceeded {
		return nil
	}
	u := RunUpdate{Status: &status}
	if j.State.Done() {
		end := tx.now.UnixMilli()
		u.EndTime = &end
	}
	_, err = tx.UpdateRun(ctx, j.Tenant, j.RunID, u)
	return err
}

// SetJobToken records the run-scoped token a job's pods use, revoking the
// one before it (a controller that restarted before writing its Secret
// mints a new one).
func (tx *Tx) SetJobToken(ctx context.Context, jobID int64, tokenID string) error {
	var old string
	if err := tx.tx.QueryRowContext(ctx, "SELECT COALESCE(token_id, '') FROM jobs WHERE id = ?", jobID).Scan(&old); err != nil {
		return mapErr(err)
	}
	if old != "" && old != tokenID {
		if err := tx.RevokeTokenID(ctx, old); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	_, err := tx.tx.ExecContext(ctx, "UPDATE jobs SET token_id = ? WHERE id = ?", tokenID, jobID)
	return mapErr(err)
}

// JobByRun finds the job a run tracks (ErrNotFound when none does).
func (tx *Tx) JobByRun(ctx context.Context, tenant, runID string) (Job, error) {
	js, err := tx.jobs(ctx, "tenant = ? AND run_id = ?", tenant, runID)
	if err != nil {
		return Job{}, err
	}
	if len(js) == 0 {
		return Job{}, ErrNotFound
	}
	return js[0], nil
}
