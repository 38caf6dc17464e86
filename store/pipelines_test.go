package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func pipelineEnv(t *testing.T, now func() time.Time) *DB {
	t.Helper()
	db := openTest(t, now)
	err := db.Write(t.Context(), func(tx *Tx) error {
		_, err := tx.CreateTenant(t.Context(), Tenant{Name: "ml", DisplayName: "ml", Quota: Quota{CPU: "4", Memory: "8Gi"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestPipelineVersionsAreAddedOnlyWhenTheSpecChanges(t *testing.T) {
	db := pipelineEnv(t, nil)
	ctx := t.Context()
	digest := func(c string) string { return strings.Repeat(c, 64) }
	var versions []int64
	var created []bool
	for _, d := range []string{"a", "a", "b"} {
		err := db.Write(ctx, func(tx *Tx) error {
			_, v, c, err := tx.PutPipelineVersion(ctx, "ml", "train", "", `{"d":"`+d+`"}`, digest(d), "alice")
			versions, created = append(versions, v.Version), append(created, c)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if versions[0] != 1 || versions[1] != 1 || versions[2] != 2 || !created[0] || created[1] || !created[2] {
		t.Fatalf("versions %v created %v", versions, created)
	}
	err := db.Read(ctx, func(tx *Tx) error {
		p, err := tx.Pipeline(ctx, "ml", "train")
		if err != nil {
			return err
		}
		vs, err := tx.ListPipelineVersions(ctx, p.ID, 0, 10)
		if err != nil {
			return err
		}
		if p.LatestVersion != 2 || len(vs) != 2 || vs[0].Version != 2 || vs[1].Spec != `{"d":"a"}` {
			t.Errorf("pipeline %+v versions %+v", p, vs)
		}
		e, err := tx.Experiment(ctx, "ml", p.ExperimentID)
		if err != nil || e.Name != "pipeline train" {
			t.Errorf("experiment %+v %v", e, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPipelineRunIsATrackingRunAndListsByFilter(t *testing.T) {
	db := pipelineEnv(t, nil)
	ctx := t.Context()
	var runs []PipelineRun
	err := db.Write(ctx, func(tx *Tx) error {
		p, _, _, err := tx.PutPipelineVersion(ctx, "ml", "train", "", `{}`, strings.Repeat("a", 64), "alice")
		if err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			r, err := tx.CreatePipelineRun(ctx, p, 1, map[string]string{"lr": "0.1"}, "", "alice")
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		_, err = tx.SetPipelineRunState(ctx, runs[1], PipelineRunSucceeded, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Read(ctx, func(tx *Tx) error {
		run, err := tx.Run(ctx, "ml", runs[1].RunID)
		if err != nil {
			return err
		}
		if run.Info.Status != RunFinished || run.Info.EndTime == nil {
			t.Errorf("tracking run %+v", run.Info)
		}
		pending, err := tx.ListPipelineRuns(ctx, "ml", PipelineRunFilter{State: PipelineRunPending, Limit: 10})
		if err != nil {
			return err
		}
		if len(pending) != 2 || pending[0].ID != runs[2].ID || pending[1].Parameters["lr"] != "0.1" {
			t.Errorf("pending runs %+v", pending)
		}
		page, err := tx.ListPipelineRuns(ctx, "ml", PipelineRunFilter{Before: runs[2].ID, Limit: 1})
		if err != nil || len(page) != 1 || page[0].ID != runs[1].ID {
			t.Errorf("second page %+v %v", page, err)
		}
		if _, err := tx.PipelineRun(ctx, "other", runs[0].RunID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant's run: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPipelineCacheHonoursMaxAge(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := pipelineEnv(t, func() time.Time { return now })
	ctx := t.Context()
	key := strings.Repeat("c", 64)
	if err := db.Write(ctx, func(tx *Tx) error {
		return tx.PutPipelineCache(ctx, "ml", CacheEntry{Key: key, RunID: "r1", Step: "prep", Outputs: map[string]string{"data": "sha256:00"}})
	}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	lookup := func(maxAge time.Duration) (CacheEntry, error) {
		var e CacheEntry
		err := db.Read(ctx, func(tx *Tx) error {
			var err error
			e, err = tx.PipelineCache(ctx, "ml", key, maxAge)
			return err
		})
		return e, err
	}
	if e, err := lookup(0); err != nil || e.RunID != "r1" || e.Outputs["data"] != "sha256:00" {
		t.Fatalf("any age: %+v %v", e, err)
	}
	if _, err := lookup(time.Hour); !errors.Is(err, ErrNotFound) {
		t.Fatalf("max age 1h on a 2h-old entry: %v", err)
	}
}
