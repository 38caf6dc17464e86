package store

import (
	"context"
	"errors"
	"testing"
)

// jobRunEnv is a tenant "ml" with user alice and one tracked job "train".
func jobRunEnv(t *testing.T) (*DB, Job, int64) {
	t.Helper()
	db := openTest(t, nil)
	ctx := t.Context()
	var j Job
	var uid int64
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "ml", DisplayName: "ml", Quota: Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
			return err
		}
		u, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		uid = u.ID
		run, err := tx.CreateJobRun(ctx, "ml", "digits", "train", "alice")
		if err != nil {
			return err
		}
		j, err = tx.CreateJob(ctx, Job{Tenant: "ml", Name: "train", CreatedBy: "alice", ExperimentID: run.ExperimentID, RunID: run.ID,
			Spec: JobSpec{Image: "img", Command: []string{"true"}, Replicas: 1, Resources: Resources{CPU: "1", Memory: "1Gi"}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, j, uid
}

func runOf(t *testing.T, db *DB, j Job) RunInfo {
	t.Helper()
	var info RunInfo
	if err := db.Read(t.Context(), func(tx *Tx) (err error) { info, err = tx.RunInfo(t.Context(), j.Tenant, j.RunID); return err }); err != nil {
		t.Fatal(err)
	}
	return info
}

func TestAJobsRunIsScheduledThenFollowsTheJobAndItsTokenEndsWithIt(t *testing.T) {
	t.Parallel()
	db, j, uid := jobRunEnv(t)
	ctx := t.Context()
	if j.RunID == "" || j.ExperimentID == 0 {
		t.Fatalf("job not tracked: run %q experiment %d (want a new experiment digits, not Default)", j.RunID, j.ExperimentID)
	}
	if r := runOf(t, db, j); r.Status != RunScheduled || r.Name != "train" {
		t.Fatalf("new job's run: %+v, want SCHEDULED named train", r)
	}
	var secret string
	err := db.Write(ctx, func(tx *Tx) error {
		tk, s, err := tx.CreateScopedToken(ctx, uid, "run", RunScope("ml", j.RunID), 0)
		secret = s
		if err != nil {
			return err
		}
		return tx.SetJobToken(ctx, j.ID, tk.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	update := func(st JobState) {
		t.Helper()
		if err := db.Write(ctx, func(tx *Tx) error { _, err := tx.UpdateJob(ctx, j.ID, JobUpdate{State: st}); return err }); err != nil {
			t.Fatal(err)
		}
	}
	update(JobRunning)
	if r := runOf(t, db, j); r.Status != RunRunning || r.EndTime != nil {
		t.Fatalf("running job's run: %+v", r)
	}
	auth := func() error {
		return db.Read(ctx, func(tx *Tx) error { _, tk, err := tx.AuthenticateToken(ctx, secret); _ = tk; return err })
	}
	if err := auth(); err != nil {
		t.Fatalf("the run token of a running job: %v", err)
	}
	update(JobFailed)
	if r := runOf(t, db, j); r.Status != RunFailed || r.EndTime == nil {
		t.Fatalf("failed job's run: %+v, want FAILED with an end time", r)
	}
	if err := auth(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the run token after the job ended: %v, want revoked", err)
	}
}

func TestAScriptThatEndedItsRunKeepsItsStatusUnlessTheJobFailed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		script string
		job    JobState
		want   string
	}{{RunFailed, JobSucceeded, RunFailed}, {RunFinished, JobSucceeded, RunFinished}, {RunFinished, JobFailed, RunFailed}, {RunFinished, JobCancelled, RunKilled}} {
		db, j, _ := jobRunEnv(t)
		ctx := t.Context()
		err := db.Write(ctx, func(tx *Tx) error {
			if _, err := tx.UpdateJob(ctx, j.ID, JobUpdate{State: JobRunning}); err != nil {
				return err
			}
			if _, err := tx.UpdateRun(ctx, "ml", j.RunID, RunUpdate{Status: &c.script}); err != nil {
				return err
			}
			_, err := tx.UpdateJob(ctx, j.ID, JobUpdate{State: c.job})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := runOf(t, db, j); r.Status != c.want {
			t.Errorf("script set %s, job %s: run %s, want %s", c.script, c.job, r.Status, c.want)
		}
	}
}

func TestADeletedRunDoesNotHoldBackItsJob(t *testing.T) {
	t.Parallel()
	db, j, _ := jobRunEnv(t)
	ctx := t.Context()
	err := db.Write(ctx, func(tx *Tx) error {
		if err := tx.SetRunStage(ctx, "ml", j.RunID, StageDeleted); err != nil {
			return err
		}
		_, err := tx.UpdateJob(ctx, j.ID, JobUpdate{State: JobSucceeded})
		return err
	})
	if err != nil {
		t.Fatalf("a job whose run was deleted could not finish: %v", err)
	}
}

func TestRevokingATokenRevokesEveryTokenMintedWithIt(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := context.Background()
	var secrets []string
	var root string
	err := db.Write(ctx, func(tx *Tx) error {
		u, err := tx.CreateUser(ctx, "alice", false)
		if err != nil {
			return err
		}
		parent, s, err := tx.CreateToken(ctx, u.ID, "root", 0)
		if err != nil {
			return err
		}
		root, secrets = parent.ID, append(secrets, s)
		child, s, err := tx.CreateChildToken(ctx, parent.ID, "child", 0)
		if err != nil {
			return err
		}
		secrets = append(secrets, s)
		_, s, err = tx.CreateChildToken(ctx, child.ID, "grandchild", 0)
		secrets = append(secrets, s)
		if err != nil {
			return err
		}
		_, s, err = tx.CreateToken(ctx, u.ID, "unrelated", 0)
		secrets = append(secrets, s)
		if err != nil {
			return err
		}
		return tx.RevokeToken(ctx, u.ID, root)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range secrets {
		err := db.Read(ctx, func(tx *Tx) error { _, err := tx.Authenticate(ctx, s); return err })
		if live := err == nil; live != (i == 3) {
			t.Errorf("token %d live=%v after its ancestor was revoked (only the unrelated token 3 should be)", i, live)
		}
	}
}
