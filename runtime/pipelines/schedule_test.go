package pipelines

import (
	"testing"
	"time"

	"github.com/ferry-ml/ferry/store"
)

func (env *engineEnv) schedule(name, cronExpr, tz, policy string) {
	env.t.Helper()
	ctx := env.t.Context()
	next, err := NextTick(cronExpr, tz, env.clock())
	if err != nil {
		env.t.Fatal(err)
	}
	err = env.db.Write(ctx, func(tx *store.Tx) error {
		p, err := tx.Pipeline(ctx, "ml", "train")
		if err != nil {
			return err
		}
		_, err = tx.CreatePipelineSchedule(ctx, store.PipelineSchedule{Tenant: "ml", Name: name, PipelineID: p.ID, Cron: cronExpr, Timezone: tz,
			Policy: policy, NextAt: next, CreatedBy: "alice", Parameters: map[string]string{}})
		return err
	})
	if err != nil {
		env.t.Fatal(err)
	}
}

func (env *engineEnv) tick() int {
	env.t.Helper()
	n, err := Tick(env.t.Context(), env.db, env.clock())
	if err != nil {
		env.t.Fatal(err)
	}
	return n
}

func TestScheduleThatMissedAThousandTicksStartsOneRun(t *testing.T) {
	env := newEngineEnv(t)
	env.schedule("nightly", "* * * * *", "", PolicyAllow)
	env.advance(1000 * time.Minute)
	if n := env.tick(); n != 1 {
		t.Fatalf("%d runs after 1000 missed ticks, want 1", n)
	}
	if n := env.tick(); n != 0 {
		t.Fatalf("%d more runs in the same minute", n)
	}
	env.advance(time.Minute)
	if n := env.tick(); n != 1 {
		t.Fatalf("Allow: %d runs at the next tick, want 1 beside the active one", n)
	}
}

func TestForbidSkipsWhileARunIsActiveAndReplaceCancelsIt(t *testing.T) {
	env := newEngineEnv(t)
	env.schedule("forbid", "*/5 * * * *", "Europe/Paris", PolicyForbid)
	env.schedule("replace", "*/5 * * * *", "", PolicyReplace)
	env.advance(5 * time.Minute)
	if n := env.tick(); n != 2 {
		t.Fatalf("first tick started %d runs, want 2", n)
	}
	env.advance(5 * time.Minute)
	if n := env.tick(); n != 1 {
		t.Fatalf("second tick started %d runs, want 1 (Forbid skips)", n)
	}
	ctx := t.Context()
	err := env.db.Read(ctx, func(tx *store.Tx) error {
		forbid, err := tx.ActiveScheduleRuns(ctx, "ml", "forbid")
		if err != nil {
			return err
		}
		replace, err := tx.ActiveScheduleRuns(ctx, "ml", "replace")
		if err != nil {
			return err
		}
		cancelled, err := tx.ListPipelineRuns(ctx, "ml", store.PipelineRunFilter{State: store.PipelineRunCancelled, Limit: 10})
		if len(forbid) != 1 || len(replace) != 1 || len(cancelled) != 1 || cancelled[0].Schedule != "replace" {
			t.Errorf("forbid %d active, replace %d active, %d cancelled", len(forbid), len(replace), len(cancelled))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPausedSchedulesStartNothingAndBadCronIsRefused(t *testing.T) {
	env := newEngineEnv(t)
	env.schedule("hourly", "@hourly", "", PolicyAllow)
	ctx := t.Context()
	err := env.db.Write(ctx, func(tx *store.Tx) error {
		s, err := tx.PipelineSchedule(ctx, "ml", "hourly")
		if err != nil {
			return err
		}
		s.Paused = true
		return tx.UpdatePipelineSchedule(ctx, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	env.advance(3 * time.Hour)
	if n := env.tick(); n != 0 {
		t.Fatalf("a paused schedule started %d runs", n)
	}
	for _, c := range [][2]string{{"61 * * * *", ""}, {"* * *", ""}, {"@hourly", "Mars/Olympus"}} {
		if _, _, err := ParseCron(c[0], c[1]); err == nil {
			t.Errorf("%q in %q was accepted", c[0], c[1])
		}
	}
	next, err := NextTick("0 9 * * *", "America/New_York", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || !next.Equal(time.Date(2026, 1, 1, 14, 0, 0, 0, time.UTC)) {
		t.Fatalf("9:00 in New York = %v %v, want 14:00 UTC", next, err)
	}
}
