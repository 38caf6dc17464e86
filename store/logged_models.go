package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Logged model statuses (MLflow's LoggedModelStatus, by proto name).
const (
	LoggedModelPending      = "LOGGED_MODEL_PENDING"
	LoggedModelReady        = "LOGGED_MODEL_READY"
	LoggedModelUploadFailed = "LOGGED_MODEL_UPLOAD_FAILED"
)

// LoggedModelStatus reads a status as MLflow's clients write it: the proto
// name (LOGGED_MODEL_READY), its number (2) or the entity's short name
// (READY, FAILED). ok is false for anything else, UNSPECIFIED included.
func LoggedModelStatus(s string) (status string, ok bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case LoggedModelPending, "PENDING", "1":
		return LoggedModelPending, true
	case LoggedModelReady, "READY", "2":
		return LoggedModelReady, true
	case LoggedModelUploadFailed, "UPLOAD_FAILED", "FAILED", "3":
		return LoggedModelUploadFailed, true
	}
	return "", false
}

// Limits of a logged model's fields beyond those of keys, tags and params.
const (
	MaxModelType          = 250
	MaxLoggedModelTags    = MaxBatchTags
	MaxLoggedModelParams  = MaxBatchParams
	MaxLoggedModelMessage = 1000
)

// LoggedModel is MLflow 3's LoggedModel: a model logged in an experiment,
// with its own artifact tree.
type LoggedModel struct {
	ID                   string
	Tenant               string
	ExperimentID         int64
	Name                 string
	SourceRunID          string
	Status               string
	StatusMessage        string
	ArtifactLocation     string
	ModelType            string
	Creator              string
	CreationTimestamp    int64
	LastUpdatedTimestamp int64
	LifecycleStage       string
	Tags                 []KV
	Params               []KV
	// Metrics are the points linked to the model: the latest of each
	// (key, dataset, run).
	Metrics []LoggedModelMetric
	// Registrations are the registry versions made from the model.
	Registrations []ModelRegistration
}

// ModelRegistration is a registry version made from a logged model.
type ModelRegistration struct {
	Name    string
	Version int64
}

// ModelOutput is a logged model that a run produced, at a step.
type ModelOutput struct {
	ModelID string
	Step    int64
}

// NewLoggedModelID is a random logged model id: "m-" and 32 hex characters, as MLflow's.
func NewLoggedModelID() string { return "m-" + NewRunID() }

func loggedModelNotFound(id string) error {
	return fmt.Errorf("%w: logged model %s", ErrNotFound, id)
}

func validKVs(what string, kvs []KV, most, valueMax int) error {
	if len(kvs) > most {
		return invalidf("a logged model takes at most %d %ss at once, not %d", most, what, len(kvs))
	}
	for _, kv := range kvs {
		if err := validKey(what, kv.Key); err != nil {
			return err
		}
		if len(kv.Value) > valueMax {
			return invalidf("%s %q value is %d characters, more than the limit of %d", what, kv.Key, len(kv.Value), valueMax)
		}
	}
	return nil
}

// CreateLoggedModel adds a PENDING model to an active experiment. Its name
// defaults to a generated one; a source run must be a run of the same
// experiment. ID, timestamps, status and artifact location are set here.
func (tx *Tx) CreateLoggedModel(ctx context.Context, m LoggedModel) (LoggedModel, error) {
	if len(m.Name) > MaxNameLength {
		return LoggedModel{}, invalidf("logged model name is longer than %d characters", MaxNameLength)
	}
	if len(m.ModelType) > MaxModelType {
		return LoggedModel{}, invalidf("model_type is longer than %d characters", MaxModelType)
	}
	if err := validKVs("tag", m.Tags, MaxLoggedModelTags, MaxTagValueLength); err != nil {
		return LoggedModel{}, err
	}
	if err := validKVs("param", m.Params, MaxLoggedModelParams, MaxParamValueLength); err != nil {
		return LoggedModel{}, err
	}
	e, err := tx.Experiment(ctx, m.Tenant, m.ExperimentID)
	if err != nil {
		return LoggedModel{}, err
	}
	if e.LifecycleStage != StageActive {
		return LoggedModel{}, invalidf("experiment %d is deleted; models cannot be logged in it", e.ID)
	}
	if m.SourceRunID != "" {
		run, err := tx.runInfo(ctx, m.Tenant, m.SourceRunID)
		if err != nil {
			return LoggedModel{}, invalidf("source run %s of the logged model: %v", m.SourceRunID, err)
		}
		if run.ExperimentID != e.ID {
			return LoggedModel{}, invalidf("source run %s is in experiment %d, not %d", run.ID, run.ExperimentID, e.ID)
		}
	}
	m.ID = NewLoggedModelID()
	if m.Name == "" {
		m.Name = "model-" + m.ID[2:10]
	}
	ms := tx.now.UnixMilli()
	m.Status, m.StatusMessage, m.LifecycleStage = LoggedModelPending, "", StageActive
	m.CreationTimestamp, m.LastUpdatedTimestamp = ms, ms
	m.ArtifactLocation = strings.TrimSuffix(e.ArtifactLocation, "/") + "/models/" + m.ID + "/artifacts"
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO logged_models (model_id, tenant, experiment_id, name, source_run_id, status, artifact_location,
		model_type, creator, creation_timestamp, last_updated_timestamp, lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Tenant, m.ExperimentID, m.Name, m.SourceRunID, m.Status, m.ArtifactLocation, m.ModelType, m.Creator, ms, ms, m.LifecycleStage)
	if err != nil {
		return LoggedModel{}, fmt.Errorf("create logged model: %w", mapErr(err))
	}
	for _, t := range m.Tags {
		if err := tx.putLoggedModelTag(ctx, m.ID, t); err != nil {
			return LoggedModel{}, err
		}
	}
	if err := tx.putLoggedModelParams(ctx, m.ID, m.Params); err != nil {
		return LoggedModel{}, err
	}
	return tx.LoggedModel(ctx, m.Tenant, m.ID)
}

const loggedModelCols = "model_id, tenant, experiment_id, name, source_run_id, status, status_message, artifact_location, model_type, creator, creation_timestamp, last_updated_timestamp, lifecycle_stage"

func scanLoggedModel(scan func(...any) error) (LoggedModel, error) {
	var m LoggedModel
	err := scan(&m.ID, &m.Tenant, &m.ExperimentID, &m.Name, &m.SourceRunID, &m.Status, &m.StatusMessage, &m.ArtifactLocation,
		&m.ModelType, &m.Creator, &m.CreationTimestamp, &m.LastUpdatedTimestamp, &m.LifecycleStage)
	return m, err
}

// loggedModelRow reads a model without its tags and params; a deleted one
// is not found unless deleted is set.
func (tx *Tx) loggedModelRow(ctx context.Context, tenant, id string, deleted bool) (LoggedModel, error) {
	m, err := scanLoggedModel(tx.tx.QueryRowContext(ctx, "SELECT "+loggedModelCols+" FROM logged_models WHERE model_id = ? AND tenant = ?", id, tenant).Scan)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !deleted && m.LifecycleStage != StageActive) {
		return LoggedModel{}, loggedModelNotFound(id)
	}
	return m, err
}

// LoggedModel reads a live logged model of a tenant with its tags, params
// and registrations.
func (tx *Tx) LoggedModel(ctx context.Context, tenant, id string) (LoggedModel, error) {
	m, err := tx.loggedModelRow(ctx, tenant, id, false)
	if err != nil {
		return LoggedModel{}, err
	}
	ms, err := tx.withModelData(ctx, []LoggedModel{m})
	if err != nil {
		return LoggedModel{}, err
	}
	return ms[0], nil
}

func (tx *Tx) withModelData(ctx context.Context, ms []LoggedModel) ([]LoggedModel, error) {
	for i := range ms {
		m := &ms[i]
		var err error
		if m.Tags, err = tx.kvs(ctx, "SELECT key, value FROM logged_model_tags WHERE model_id = ? ORDER BY key", m.ID); err != nil {
			return nil, err
		}
		if m.Params, err = tx.kvs(ctx, "SELECT key, value FROM logged_model_params WHERE model_id = ? ORDER BY key", m.ID); err != nil {
			return nil, err
		}
		if m.Metrics, err = tx.loggedModelMetrics(ctx, m.ID); err != nil {
			return nil, err
		}
		regs, err := tx.kvs(ctx, "SELECT name, CAST(version AS TEXT) FROM model_versions WHERE tenant = ? AND model_id = ? ORDER BY name, version", m.Tenant, m.ID)
		if err != nil {
			return nil, err
		}
		m.Registrations = make([]ModelRegistration, 0, len(regs))
		for _, r := range regs {
			var v int64
			_, _ = fmt.Sscan(r.Value, &v)
			m.Registrations = append(m.Registrations, ModelRegistration{Name: r.Key, Version: v})
		}
	}
	return ms, nil
}

// touchLoggedModel bumps a live model's update time; ErrNotFound when there is none.
func (tx *Tx) touchLoggedModel(ctx context.Context, tenant, id string) error {
	res, err := tx.tx.ExecContext(ctx, "UPDATE logged_models SET last_updated_timestamp = ? WHERE model_id = ? AND tenant = ? AND lifecycle_stage = 'active'", tx.now.UnixMilli(), id, tenant)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return loggedModelNotFound(id)
	}
	return nil
}

// FinalizeLoggedModel sets a model's status: READY or UPLOAD_FAILED.
func (tx *Tx) FinalizeLoggedModel(ctx context.Context, tenant, id, status string) (LoggedModel, error) {
	if status != LoggedModelReady && status != LoggedModelUploadFailed {
		return LoggedModel{}, invalidf("a logged model is finalized as %s or %s, not %q", LoggedModelReady, LoggedModelUploadFailed, status)
	}
	if err := tx.touchLoggedModel(ctx, tenant, id); err != nil {
		return LoggedModel{}, err
	}
	if _, err := tx.tx.ExecContext(ctx, "UPDATE logged_models SET status = ? WHERE model_id = ?", status, id); err != nil {
		return LoggedModel{}, mapErr(err)
	}
	return tx.LoggedModel(ctx, tenant, id)
}

// DeleteLoggedModel marks a model deleted, as MLflow does: it is gone from
// reads and searches; its rows stay.
func (tx *Tx) DeleteLoggedModel(ctx context.Context, tenant, id string) error {
	if err := tx.touchLoggedModel(ctx, tenant, id); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, "UPDATE logged_models SET lifecycle_stage = 'deleted' WHERE model_id = ?", id)
	return mapErr(err)
}

// SetLoggedModelTags sets (replaces) tags of a model, all or none.
func (tx *Tx) SetLoggedModelTags(ctx context.Context, tenant, id string, tags []KV) (LoggedModel, error) {
	if err := validKVs("tag", tags, MaxLoggedModelTags, MaxTagValueLength); err != nil {
		return LoggedModel{}, err
	}
	if err := tx.touchLoggedModel(ctx, tenant, id); err != nil {
		return LoggedModel{}, err
	}
	for _, t := range tags {
		if err := tx.putLoggedModelTag(ctx, id, t); err != nil {
			return LoggedModel{}, err
		}
	}
	return tx.LoggedModel(ctx, tenant, id)
}

func (tx *Tx) putLoggedModelTag(ctx context.Context, id string, t KV) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?)
		ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`, id, t.Key, t.Value)
	return mapErr(err)
}

// DeleteLoggedModelTag removes one tag of a model.
func (tx *Tx) DeleteLoggedModelTag(ctx context.Context, tenant, id, key string) error {
	if err := tx.touchLoggedModel(ctx, tenant, id); err != nil {
		return err
	}
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?", id, key)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no tag %q on logged model %s", ErrNotFound, key, id)
	}
	return nil
}

// LogLoggedModelParams adds params to a model; like a run's they are
// immutable: the same value again is fine, another one is ErrInvalid.
func (tx *Tx) LogLoggedModelParams(ctx context.Context, tenant, id string, params []KV) error {
	if err := validKVs("param", params, MaxLoggedModelParams, MaxParamValueLength); err != nil {
		return err
	}
	if err := tx.touchLoggedModel(ctx, tenant, id); err != nil {
		return err
	}
	return tx.putLoggedModelParams(ctx, id, params)
}

func (tx *Tx) putLoggedModelParams(ctx context.Context, id string, params []KV) error {
	for _, p := range params {
		var old string
		err := tx.tx.QueryRowContext(ctx, "SELECT value FROM logged_model_params WHERE model_id = ? AND key = ?", id, p.Key).Scan(&old)
		switch {
		case err == nil && old != p.Value:
			return invalidf("param %q of logged model %s is %q; it cannot be changed to %q", p.Key, id, old, p.Value)
		case err == nil:
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, "INSERT INTO logged_model_params (model_id, key, value) VALUES (?, ?, ?)", id, p.Key, p.Value); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// LogRunOutputs records models a run produced (MLflow's runs/outputs); each
// must be a live model of the tenant. Recording one twice is a no-op.
func (tx *Tx) LogRunOutputs(ctx context.Context, tenant, runID string, outs []ModelOutput) error {
	if _, err := tx.runInfo(ctx, tenant, runID); err != nil {
		return err
	}
	if len(outs) > MaxBatchTotal {
		return invalidf("a run's outputs are logged at most %d at once, not %d", MaxBatchTotal, len(outs))
	}
	for _, o := range outs {
		if _, err := tx.loggedModelRow(ctx, tenant, o.ModelID, false); err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, "INSERT OR IGNORE INTO run_model_outputs (run_uuid, model_id, step) VALUES (?, ?, ?)", runID, o.ModelID, o.Step); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// RunOutputs lists the live models a run produced, by step then id.
func (tx *Tx) RunOutputs(ctx context.Context, tenant, runID string) ([]ModelOutput, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT o.model_id, o.step FROM run_model_outputs o JOIN logged_models m ON m.model_id = o.model_id
		WHERE o.run_uuid = ? AND m.tenant = ? AND m.lifecycle_stage = 'active' ORDER BY o.step, o.model_id`, runID, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ModelOutput{}
	for rows.Next() {
		var o ModelOutput
		if err := rows.Scan(&o.ModelID, &o.Step); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
