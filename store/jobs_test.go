package store

import (
	"errors"
	"testing"
	"time"
)

func TestJobsKeepSubmissionOrderStatesAndTenantCascade(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	spec := JobSpec{Image: "ferry.local/workload:1", Command: []string{"python3", "train.py"}, Replicas: 2, Resources: Resources{CPU: "1", Memory: "1Gi", GPU: 1}, MaxRetries: 1}
	err := db.Write(ctx, func(tx *Tx) error {
		for _, name := range []string{"a", "b"} {
			if _, err := tx.CreateTenant(ctx, Tenant{Name: name, DisplayName: name, Quota: Quota{CPU: "4", Memory: "8Gi", GPU: 2}}); err != nil {
				return err
			}
		}
		for _, j := range []Job{{Tenant: "a", Name: "first"}, {Tenant: "b", Name: "other"}, {Tenant: "a", Name: "second"}} {
			j.Spec, j.CreatedBy = spec, "alice"
			if _, err := tx.CreateJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(tx *Tx) error {
		_, err := tx.CreateJob(ctx, Job{Tenant: "a", Name: "first", Spec: spec, CreatedBy: "bob"})
		return err
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("a second job named first: %v, want ErrConflict", err)
	}
	var list []Job
	read := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := db.Read(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	read(func(tx *Tx) (err error) { list, err = tx.ListJobs(ctx, "a", 0, 10); return })
	if len(list) != 2 || list[0].Name != "first" || list[1].Name != "second" || list[0].State != JobQueued || list[0].Spec.Command[1] != "train.py" {
		t.Fatalf("jobs of a = %+v", list)
	}
	read(func(tx *Tx) (err error) { list, err = tx.ListJobs(ctx, "a", list[0].ID, 10); return })
	if len(list) != 1 || list[0].Name != "second" {
		t.Fatalf("page after first = %+v", list)
	}

	// second runs, then succeeds; a later "running" (a stale event) does not undo it.
	now := time.Now()
	reason := ""
	upd := func(u JobUpdate) Job {
		t.Helper()
		var j Job
		if err := db.Write(ctx, func(tx *Tx) (err error) { j, err = tx.UpdateJob(ctx, list[0].ID, u); return }); err != nil {
			t.Fatal(err)
		}
		return j
	}
	upd(JobUpdate{State: JobRunning, Reason: &reason, AdmittedAt: &now, StartedAt: &now, Replicas: []Replica{{Index: 0, Phase: "Running"}, {Index: 1, Phase: "Pending"}}})
	later := now.Add(time.Minute)
	upd(JobUpdate{State: JobSucceeded, FinishedAt: &later, StartedAt: &later})
	j := upd(JobUpdate{State: JobRunning, Replicas: []Replica{{Index: 0, Phase: "Succeeded", LogSaved: true}, {Index: 1, Phase: "Succeeded"}}})
	if j.State != JobSucceeded || j.StartedAt == nil || j.StartedAt.Sub(now).Abs() > time.Millisecond {
		t.Fatalf("after a stale update (state kept, first start time kept): %+v", j)
	}
	read(func(tx *Tx) (err error) { j, err = tx.Job(ctx, "a", "second"); return })
	if j.State != JobSucceeded || len(j.Replicas) != 2 || !j.Replicas[0].LogSaved || j.FinishedAt == nil {
		t.Fatalf("read back: %+v", j)
	}
	var active []Job
	read(func(tx *Tx) (err error) { active, err = tx.ActiveJobs(ctx); return })
	if len(active) != 2 || active[0].Name != "first" || active[1].Name != "other" {
		t.Fatalf("active = %+v", active)
	}
	if err := db.Write(ctx, func(tx *Tx) error { return tx.DeleteTenant(ctx, "a") }); err != nil {
		t.Fatal(err)
	}
	read(func(tx *Tx) (err error) { list, err = tx.ListJobs(ctx, "a", 0, 10); return })
	if len(list) != 0 {
		t.Fatalf("jobs outlived their tenant: %+v", list)
	}
}
