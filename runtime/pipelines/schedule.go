package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// Concurrency policies of a schedule.
const (
	PolicyAllow   = "Allow"
	PolicyForbid  = "Forbid"
	PolicyReplace = "Replace"
)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron reads a cron expression (five fields, or @hourly and the like)
// in a time zone ("" is UTC).
func ParseCron(expr, tz string) (cron.Schedule, *time.Location, error) {
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	return s, loc, nil
}

// NextTick is the first tick of expr in tz strictly after now.
func NextTick(expr, tz string, now time.Time) (time.Time, error) {
	s, loc, err := ParseCron(expr, tz)
	if err != nil {
		return time.Time{}, err
	}
	next := s.Next(now.In(loc))
	if next.IsZero() {
		return time.Time{}, fmt.Errorf("cron %q never fires", expr)
	}
	return next.UTC(), nil
}

// Resolve reads the version of p to run (0: the latest) and checks given
// against its parameters, defaults filled in.
func Resolve(ctx context.Context, tx *store.Tx, p store.Pipeline, version int64, given map[string]string) (int64, v1.PipelineSpec, map[string]string, error) {
	if version == 0 {
		version = p.LatestVersion
	}
	v, err := tx.PipelineVersion(ctx, p.ID, version)
	if errors.Is(err, store.ErrNotFound) {
		return 0, v1.PipelineSpec{}, nil, fault("body.version", version, "pipeline %s has versions 1 to %d", p.Name, p.LatestVersion)
	}
	if err != nil {
		return 0, v1.PipelineSpec{}, nil, err
	}
	var spec v1.PipelineSpec
	if err := json.Unmarshal([]byte(v.Spec), &spec); err != nil {
		return 0, spec, nil, err
	}
	params, err := ResolveParams("body.parameters", spec, given)
	return version, spec, params, err
}

// Submit checks given against a version's parameters and makes a pending run.
func Submit(ctx context.Context, tx *store.Tx, p store.Pipeline, version int64, given map[string]string, schedule, user string) (store.PipelineRun, v1.PipelineSpec, error) {
	version, spec, params, err := Resolve(ctx, tx, p, version, given)
	if err != nil {
		return store.PipelineRun{}, spec, err
	}
	r, err := tx.CreatePipelineRun(ctx, p, version, params, schedule, user)
	return r, spec, err
}

// Tick starts the runs of every due schedule: one run per schedule
// whatever the number of ticks missed, Forbid skipping a tick while a run
// of the schedule is active, Replace cancelling it first. It answers how
// many runs it started.
func Tick(ctx context.Context, db *store.DB, now time.Time) (int, error) {
	started := 0
	var due []store.PipelineSchedule
	if err := db.Read(ctx, func(tx *store.Tx) (err error) {
		due, err = tx.DuePipelineSchedules(ctx, now)
		return err
	}); err != nil {
		return 0, err
	}
	var errs []error
	for _, s := range due {
		err := db.Write(ctx, func(tx *store.Tx) error {
			next, err := NextTick(s.Cron, s.Timezone, now)
			if err != nil {
				return err
			}
			s.NextAt = next
			active, err := tx.ActiveScheduleRuns(ctx, s.Tenant, s.Name)
			if err != nil {
				return err
			}
			if len(active) > 0 && s.Policy == PolicyForbid {
				return tx.UpdatePipelineSchedule(ctx, s)
			}
			if s.Policy == PolicyReplace {
				for _, r := range active {
					if _, err := tx.CancelPipelineRun(ctx, r, "schedule "+s.Name); err != nil {
						return err
					}
				}
			}
			p, err := tx.PipelineByID(ctx, s.PipelineID)
			if err != nil {
				return err
			}
			r, _, err := Submit(ctx, tx, p, s.Version, s.Parameters, s.Name, s.CreatedBy)
			if err != nil {
				return err
			}
			t := now.UTC()
			s.LastAt, s.LastRun = &t, r.RunID
			started++
			return tx.UpdatePipelineSchedule(ctx, s)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s/%s: %w", s.Tenant, s.Name, err))
		}
	}
	return started, errors.Join(errs...)
}
