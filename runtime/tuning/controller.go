package tuning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/store"
)

// JobRunner is what the controller needs of the jobs controller: trials
// are ordinary jobs, admitted and run by it; a trial stopped early or
// ended with its tuning is cancelled through it.
type JobRunner interface {
	Poke()
	Cancel(ctx context.Context, j store.Job, by string, record func(*store.Tx) error) (store.Job, error)
}

// Controller drives tunings: it reads their trials' jobs and run metrics
// from the store, stops trials by the median rule, ends tunings (goal,
// trials done, failures, an objective never logged) and starts new trials
// with the next suggestion. It is level-based: everything it needs is in
// SQLite, so a restarted server goes on where it was.
type Controller struct {
	DB   *store.DB
	Jobs JobRunner
	Log  *slog.Logger
	// Interval is how often metrics are read when nothing pokes (default 5 s).
	Interval time.Duration

	loop *controller.Loop
}

// NewController returns a controller ready to Start and Poke.
func NewController(db *store.DB, jobs JobRunner, log *slog.Logger) *Controller {
	c := &Controller{DB: db, Jobs: jobs, Log: log}
	c.loop = &controller.Loop{Name: "tuning", Log: log, Sync: c.Sync, Options: controller.Options{Settle: 100 * time.Millisecond}}
	return c
}

// Poke asks for a sync soon (after a create or a stop).
func (c *Controller) Poke() { c.loop.Poke() }

// Start syncs until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	if c.loop == nil {
		return errors.New("tuning: controller not made by NewController")
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	c.loop.Resync = c.Interval
	return c.loop.Start(ctx)
}

// Sync is one pass over every tuning with work left.
func (c *Controller) Sync(ctx context.Context) error {
	var active []store.Tuning
	if err := c.DB.Read(ctx, func(tx *store.Tx) (err error) {
		active, err = tx.ActiveTunings(ctx)
		return err
	}); err != nil {
		return err
	}
	var errs []error
	for _, t := range active {
		if err := c.reconcile(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("tuning %s/%s: %w", t.Tenant, t.Name, err))
		}
	}
	return errors.Join(errs...)
}

// reconcile observes a tuning's running trials, ends it when it is done
// and starts the trials it lacks.
func (c *Controller) reconcile(ctx context.Context, t store.Tuning) error {
	var spec v1.TuningSpec
	if err := json.Unmarshal([]byte(t.Spec), &spec); err != nil {
		return c.end(ctx, &t, store.TuningFailed, "the stored spec cannot be read: "+err.Error())
	}
	var trials []store.Trial
	if err := c.DB.Read(ctx, func(tx *store.Tx) (err error) {
		trials, err = tx.Trials(ctx, t.ID, -1, v1.MaxTuningTrials)
		return err
	}); err != nil {
		return err
	}
	if err := c.observeAll(ctx, t, spec, trials); err != nil {
		return err
	}
	if t.State == store.TuningRunning {
		if state, reason := Verdict(spec, trials); state != "" {
			if err := c.end(ctx, &t, state, reason); err != nil {
				return err
			}
			// Running trials are cancelled now, not a resync later.
			if err := c.observeAll(ctx, t, spec, trials); err != nil {
				return err
			}
		}
	}
	if t.State != store.TuningRunning {
		return nil
	}
	return c.launch(ctx, t, spec, trials)
}

// observeAll observes every running trial, updating trials in place.
func (c *Controller) observeAll(ctx context.Context, t store.Tuning, spec v1.TuningSpec, trials []store.Trial) error {
	var completed []string
	for _, tr := range trials {
		if tr.State == store.TrialSucceeded {
			completed = append(completed, tr.RunID)
		}
	}
	var errs []error
	for i := range trials {
		if trials[i].State != store.TrialRunning {
			continue
		}
		tr, err := c.observe(ctx, t, spec, trials[i], completed)
		if err != nil {
			errs = append(errs, fmt.Errorf("trial %d: %w", trials[i].Number, err))
			continue
		}
		trials[i] = tr
	}
	return errors.Join(errs...)
}

func (c *Controller) end(ctx context.Context, t *store.Tuning, state, reason string) error {
	err := c.DB.Write(ctx, func(tx *store.Tx) error {
		ended, err := tx.EndTuning(ctx, t.ID, state, reason)
		if errors.Is(err, store.ErrConflict) {
			*t = ended
			return nil
		}
		if err != nil {
			return err
		}
		*t = ended
		_, err = tx.AppendAudit(ctx, store.AuditEntry{Actor: "system", Action: "tuning." + state, Tenant: t.Tenant, Target: "tuning/" + t.Name, Result: "ok"})
		return err
	})
	if err == nil {
		c.Log.Info("tuning ended", "tenant", t.Tenant, "tuning", t.Name, "state", t.State, "reason", t.Reason)
	}
	return err
}

// launch starts trials while fewer than parallelTrials run and fewer than
// maxTrials exist. Trial n's suggestion is a function of the seed, n and
// the trials observed: the same after a restart.
func (c *Controller) launch(ctx context.Context, t store.Tuning, spec v1.TuningSpec, trials []store.Trial) error {
	sp := NewSpace(spec.Parameters)
	running := 0
	for _, tr := range trials {
		if tr.State == store.TrialRunning {
			running++
		}
	}
	started := false
	for running < spec.ParallelTrials && len(trials) < spec.MaxTrials {
		n := len(trials)
		x, err := Suggest(spec.Algorithm, sp, spec.Seed, n, Observations(sp, spec.Objective.Direction, trials))
		if errors.Is(err, ErrGridDone) {
			break
		}
		if err != nil {
			return c.end(ctx, &t, store.TuningFailed, "suggest trial "+fmt.Sprint(n)+": "+err.Error())
		}
		params := sp.Texts(x)
		name := TrialJobName(t.Name, n)
		var tr store.Trial
		err = c.DB.Write(ctx, func(tx *store.Tx) (err error) {
			tr, _, err = tx.CreateTrial(ctx, t, n, params, name, JobSpec(Substitute(spec.Trial, params)))
			return err
		})
		if errors.Is(err, store.ErrConflict) {
			return c.end(ctx, &t, store.TuningFailed, fmt.Sprintf("trial %d cannot start: the tenant already has a job %s (trial jobs are named %s)", n, name, t.Name+"-t<N>"))
		}
		if err != nil {
			return err
		}
		c.Log.Info("trial started", "tenant", t.Tenant, "tuning", t.Name, "trial", n, "job", name, "params", params)
		trials = append(trials, tr)
		running++
		started = true
	}
	if started {
		c.Jobs.Poke()
	}
	return nil
}

// JobSpec is the job a trial runs: the template with its values
// substituted (its defaults were filled in when the tuning was created).
func JobSpec(t v1.TrialTemplate) store.JobSpec {
	s := store.JobSpec{Image: t.Image, Command: t.Command, Args: t.Args, Env: t.Env, Replicas: t.Replicas,
		Resources: store.Resources{CPU: t.Resources.CPU, Memory: t.Resources.Memory, GPU: t.Resources.GPU}}
	if s.Replicas == 0 {
		s.Replicas = 1
	}
	if t.MaxRetries != nil {
		s.MaxRetries = *t.MaxRetries
	}
	return s
}
