package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid means a request breaks a rule of the data (an over-long key, a
// changed param, a run that is not active); MLflow calls it INVALID_PARAMETER_VALUE.
var ErrInvalid = errors.New("invalid parameter value")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// MLflow's limits on what a run stores.
const (
	MaxKeyLength        = 250
	MaxParamValueLength = 6000
	MaxTagValueLength   = 8000
	MaxBatchMetrics     = 1000
	MaxBatchParams      = 100
	MaxBatchTags        = 100
	MaxBatchTotal       = 1000
	MaxNameLength       = 250
	MaxExperimentName   = 500
)

// Lifecycle stages of experiments and runs.
const (
	StageActive  = "active"
	StageDeleted = "deleted"
)

// Run statuses (MLflow's RunStatus).
const (
	RunRunning   = "RUNNING"
	RunScheduled = "SCHEDULED"
	RunFinished  = "FINISHED"
	RunFailed    = "FAILED"
	RunKilled    = "KILLED"
)

// ValidRunStatus reports whether s is one of MLflow's run statuses.
func ValidRunStatus(s string) bool {
	switch s {
	case RunRunning, RunScheduled, RunFinished, RunFailed, RunKilled:
		return true
	}
	return false
}

// Tags MLflow gives a meaning to.
const (
	TagRunName     = "mlflow.runName"
	TagParentRunID = "mlflow.parentRunId"
	TagUser        = "mlflow.user"
)

// DefaultExperimentID is the experiment MLflow clients log to when none is set.
const DefaultExperimentID int64 = 0

// KV is a tag or a param.
type KV struct {
	Key   string
	Value string
}

// Experiment groups runs, per tenant.
type Experiment struct {
	Tenant           string
	ID               int64
	Name             string
	ArtifactLocation string
	LifecycleStage   string
	CreationTime     int64
	LastUpdateTime   int64
	Tags             []KV
}

func validKey(what, k string) error {
	if k == "" {
		return invalidf("%s key is empty", what)
	}
	if len(k) > MaxKeyLength {
		return invalidf("%s key %.40q... is %d characters, more than the limit of %d", what, k, len(k), MaxKeyLength)
	}
	if strings.Contains(k, "..") || strings.HasPrefix(k, "/") {
		return invalidf("%s key %q may not contain '..' or start with '/'", what, k)
	}
	return nil
}

func validTag(k, v string) error {
	if err := validKey("tag", k); err != nil {
		return err
	}
	if len(v) > MaxTagValueLength {
		return invalidf("tag %q value is %d characters, more than the limit of %d", k, len(v), MaxTagValueLength)
	}
	return nil
}

// DefaultArtifactLocation is where an experiment's artifacts go when its
// creator names no place: ferry's artifact proxy.
func DefaultArtifactLocation(id int64) string {
	return "mlflow-artifacts:/" + strconv.FormatInt(id, 10)
}

// EnsureDefaultExperiment creates the tenant's experiment 0 ("Default") if it is missing.
func (tx *Tx) EnsureDefaultExperiment(ctx context.Context, tenant string) error {
	ms := tx.now.UnixMilli()
	_, err := tx.tx.ExecContext(ctx, `INSERT OR IGNORE INTO experiments (tenant, id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
		VALUES (?, 0, 'Default', ?, 'active', ?, ?)`, tenant, DefaultArtifactLocation(0), ms, ms)
	return mapErr(err)
}

// HasDefaultExperiment reports whether the tenant's experiment 0 exists.
func (tx *Tx) HasDefaultExperiment(ctx context.Context, tenant string) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM experiments WHERE tenant = ? AND id = 0", tenant).Scan(&n)
	return n > 0, err
}

// CreateExperiment inserts an active experiment with the next id of the
// tenant; a taken name (even of a deleted experiment) is ErrConflict.
func (tx *Tx) CreateExperiment(ctx context.Context, e Experiment) (Experiment, error) {
	if e.Name == "" {
		return Experiment{}, invalidf("experiment name is empty")
	}
	if len(e.Name) > MaxExperimentName {
		return Experiment{}, invalidf("experiment name is longer than %d characters", MaxExperimentName)
	}
	for _, t := range e.Tags {
		if err := validTag(t.Key, t.Value); err != nil {
			return Experiment{}, err
		}
	}
	if err := tx.tx.QueryRowContext(ctx, "SELECT max(coalesce(max(id), 0) + 1, 1) FROM experiments WHERE tenant = ?", e.Tenant).Scan(&e.ID); err != nil {
		return Experiment{}, err
	}
	if e.ArtifactLocation == "" {
		e.ArtifactLocation = DefaultArtifactLocation(e.ID)
	}
	e.LifecycleStage, e.CreationTime, e.LastUpdateTime = StageActive, tx.now.UnixMilli(), tx.now.UnixMilli()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO experiments (tenant, id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Tenant, e.ID, e.Name, e.ArtifactLocation, e.LifecycleStage, e.CreationTime, e.LastUpdateTime)
	if err != nil {
		if errors.Is(mapErr(err), ErrConflict) {
			return Experiment{}, fmt.Errorf("%w: experiment %q already exists", ErrConflict, e.Name)
		}
		return Experiment{}, mapErr(err)
	}
	for _, t := range e.Tags {
		if err := tx.SetExperimentTag(ctx, e.Tenant, e.ID, t.Key, t.Value); err != nil {
			return Experiment{}, err
		}
	}
	return e, nil
}

const experimentCols = "tenant, id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"

// Experiment reads one experiment of a tenant with its tags.
func (tx *Tx) Experiment(ctx context.Context, tenant string, id int64) (Experiment, error) {
	es, err := tx.experiments(ctx, "tenant = ? AND id = ?", tenant, id)
	if err != nil {
		return Experiment{}, err
	}
	if len(es) == 0 {
		return Experiment{}, fmt.Errorf("%w: experiment %d", ErrNotFound, id)
	}
	return es[0], nil
}

// ExperimentByName reads one experiment of a tenant by name.
func (tx *Tx) ExperimentByName(ctx context.Context, tenant, name string) (Experiment, error) {
	es, err := tx.experiments(ctx, "tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return Experiment{}, err
	}
	if len(es) == 0 {
		return Experiment{}, fmt.Errorf("%w: experiment %q", ErrNotFound, name)
	}
	return es[0], nil
}

// ExperimentQuery selects experiments: Filters on name and tags (Kind
// "attribute" with Key "name", or "tag"), Orders on name, experiment_id,
// creation_time or last_update_time.
type ExperimentQuery struct {
	Tenant   string
	ViewType string // ACTIVE_ONLY (default), DELETED_ONLY, ALL
	Filters  []Filter
	Orders   []Order
	Offset   int
	Limit    int
}

// SearchExperiments lists a tenant's experiments.
func (tx *Tx) SearchExperiments(ctx context.Context, q ExperimentQuery) ([]Experiment, error) {
	where, args := []string{"tenant = ?"}, []any{q.Tenant}
	if s := stageClause(q.ViewType, "lifecycle_stage"); s != "" {
		where = append(where, s)
	}
	for _, f := range q.Filters {
		switch {
		case f.Kind == FilterTag:
			cond, a, err := compare("t.value", f, false)
			if err != nil {
				return nil, err
			}
			where = append(where, "EXISTS (SELECT 1 FROM experiment_tags t WHERE t.tenant = experiments.tenant AND t.experiment_id = experiments.id AND t.key = ? AND "+cond+")")
			args = append(append(args, f.Key), a...)
		case f.Kind == FilterAttribute && f.Key == "name":
			cond, a, err := compare("name", f, false)
			if err != nil {
				return nil, err
			}
			where, args = append(where, cond), append(args, a...)
		default:
			return nil, invalidf("experiments cannot be filtered on %s %q", f.Kind, f.Key)
		}
	}
	var order []string
	for _, o := range q.Orders {
		col := map[string]string{"name": "name", "experiment_id": "id", "creation_time": "creation_time", "last_update_time": "last_update_time"}[o.Key]
		if o.Kind != FilterAttribute || col == "" {
			return nil, invalidf("experiments cannot be ordered by %q", o.Key)
		}
		order = append(order, col+dir(o.Desc))
	}
	order = append(order, "creation_time DESC", "id ASC")
	args = append(args, q.Limit, q.Offset)
	return tx.experiments(ctx, strings.Join(where, " AND ")+" ORDER BY "+strings.Join(order, ", ")+" LIMIT ? OFFSET ?", args...)
}

func dir(desc bool) string {
	if desc {
		return " DESC"
	}
	return " ASC"
}

func stageClause(viewType, col string) string {
	switch viewType {
	case "", "ACTIVE_ONLY":
		return col + " = 'active'"
	case "DELETED_ONLY":
		return col + " = 'deleted'"
	}
	return ""
}

// RenameExperiment gives an experiment a new name.
func (tx *Tx) RenameExperiment(ctx context.Context, tenant string, id int64, name string) error {
	if name == "" || len(name) > MaxExperimentName {
		return invalidf("experiment name must be 1 to %d characters", MaxExperimentName)
	}
	e, err := tx.Experiment(ctx, tenant, id)
	if err != nil {
		return err
	}
	if e.LifecycleStage != StageActive {
		return invalidf("experiment %d is deleted; it cannot be renamed", id)
	}
	_, err = tx.tx.ExecContext(ctx, "UPDATE experiments SET name = ?, last_update_time = ? WHERE tenant = ? AND id = ?", name, tx.now.UnixMilli(), tenant, id)
	if errors.Is(mapErr(err), ErrConflict) {
		return fmt.Errorf("%w: experiment %q already exists", ErrConflict, name)
	}
	return mapErr(err)
}

// SetExperimentStage marks an experiment (and, as MLflow does, its runs)
// deleted or active again.
func (tx *Tx) SetExperimentStage(ctx context.Context, tenant string, id int64, stage string) error {
	if id == DefaultExperimentID && stage == StageDeleted {
		return invalidf("the default experiment 0 cannot be deleted")
	}
	if _, err := tx.Experiment(ctx, tenant, id); err != nil {
		return err
	}
	if _, err := tx.tx.ExecContext(ctx, "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE tenant = ? AND id = ?", stage, tx.now.UnixMilli(), tenant, id); err != nil {
		return mapErr(err)
	}
	_, err := tx.tx.ExecContext(ctx, "UPDATE runs SET lifecycle_stage = ? WHERE tenant = ? AND experiment_id = ?", stage, tenant, id)
	return mapErr(err)
}

// SetExperimentTag sets (replaces) one tag of an experiment.
func (tx *Tx) SetExperimentTag(ctx context.Context, tenant string, id int64, key, value string) error {
	if err := validTag(key, value); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO experiment_tags (tenant, experiment_id, key, value) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant, experiment_id, key) DO UPDATE SET value = excluded.value`, tenant, id, key, value)
	return mapErr(err)
}

func (tx *Tx) experiments(ctx context.Context, where string, args ...any) ([]Experiment, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+experimentCols+" FROM experiments WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Experiment{}
	for rows.Next() {
		var e Experiment
		if err := rows.Scan(&e.Tenant, &e.ID, &e.Name, &e.ArtifactLocation, &e.LifecycleStage, &e.CreationTime, &e.LastUpdateTime); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i := range out {
		if out[i].Tags, err = tx.kvs(ctx, "SELECT key, value FROM experiment_tags WHERE tenant = ? AND experiment_id = ? ORDER BY key", out[i].Tenant, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (tx *Tx) kvs(ctx context.Context, q string, args ...any) ([]KV, error) {
	rows, err := tx.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []KV{}
	for rows.Next() {
		var kv KV
		if err := rows.Scan(&kv.Key, &kv.Value); err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, rows.Err()
}

// NewRunID is a random run id: 32 hex characters, like MLflow's uuid4().hex.
func NewRunID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return hex.EncodeToString(b)
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}
