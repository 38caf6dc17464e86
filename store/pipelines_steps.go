package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PipelineStep is one step of a run, or one item of a fan-out.
type PipelineStep struct {
	RunID     int64
	Name      string
	Step      string
	Item      *int32
	ItemValue string
	State     string
	Reason    string
	Attempt   int32
	Pod       string
	// ChildRun is the step's tracking run, a child of the pipeline run.
	ChildRun   string
	TokenID    string
	CacheKey   string
	CachedFrom string
	// Outputs are output parameters by name, artifacts as "sha256:<hex>".
	Outputs    map[string]string
	ImageID    string
	LogSaved   bool
	RetryAt    *time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
	UpdatedAt  time.Time
}

// MaxStepOutputs bounds a step's stored outputs (JSON).
const MaxStepOutputs = 64 << 10

// PutPipelineStep inserts or replaces a step row.
func (tx *Tx) PutPipelineStep(ctx context.Context, s PipelineStep) error {
	if s.Outputs == nil {
		s.Outputs = map[string]string{}
	}
	out, err := json.Marshal(s.Outputs)
	if err != nil {
		return err
	}
	if len(out) > MaxStepOutputs {
		return invalidf("a step's outputs are at most %d bytes of JSON", MaxStepOutputs)
	}
	var item any
	if s.Item != nil {
		item = *s.Item
	}
	_, err = tx.tx.ExecContext(ctx, `INSERT OR REPLACE INTO pipeline_steps (run_id, name, step, item, item_value, state, reason, attempt, pod, child_run, token_id,
		cache_key, cached_from, outputs, image_id, log_saved, retry_at, started_at, finished_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.RunID, s.Name, s.Step, item, s.ItemValue, s.State, truncate(s.Reason, MaxReason), s.Attempt, s.Pod, s.ChildRun, s.TokenID,
		s.CacheKey, s.CachedFrom, string(out), s.ImageID, s.LogSaved, nullTime(s.RetryAt), nullTime(s.StartedAt), nullTime(s.FinishedAt), formatTime(tx.now))
	if err != nil {
		return fmt.Errorf("step %s of pipeline run %d: %w", s.Name, s.RunID, mapErr(err))
	}
	return nil
}

const pipelineStepCols = `run_id, name, step, item, item_value, state, reason, attempt, pod, child_run, token_id,
	cache_key, cached_from, outputs, image_id, log_saved, retry_at, started_at, finished_at, updated_at`

// PipelineSteps lists a run's steps by name.
func (tx *Tx) PipelineSteps(ctx context.Context, runID int64) ([]PipelineStep, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT `+pipelineStepCols+` FROM pipeline_steps WHERE run_id = ? ORDER BY name`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PipelineStep
	for rows.Next() {
		s, err := scanPipelineStep(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func scanPipelineStep(rows *sql.Rows) (PipelineStep, error) {
	var s PipelineStep
	var item sql.NullInt32
	var outputs, updated string
	var retry, started, finished sql.NullString
	if err := rows.Scan(&s.RunID, &s.Name, &s.Step, &item, &s.ItemValue, &s.State, &s.Reason, &s.Attempt, &s.Pod, &s.ChildRun, &s.TokenID,
		&s.CacheKey, &s.CachedFrom, &outputs, &s.ImageID, &s.LogSaved, &retry, &started, &finished, &updated); err != nil {
		return s, err
	}
	if item.Valid {
		i := item.Int32
		s.Item = &i
	}
	if err := json.Unmarshal([]byte(outputs), &s.Outputs); err != nil {
		return s, fmt.Errorf("step %s outputs: %w", s.Name, err)
	}
	s.RetryAt, s.StartedAt, s.FinishedAt, s.UpdatedAt = timePtr(retry), timePtr(started), timePtr(finished), parseTime(updated)
	return s, nil
}

// CacheEntry is a cached step result.
type CacheEntry struct {
	Key       string
	RunID     string
	Step      string
	Outputs   map[string]string
	CreatedAt time.Time
}

// PipelineCache looks a key up; an entry older than maxAge (0: any age) is ErrNotFound.
func (tx *Tx) PipelineCache(ctx context.Context, tenant, key string, maxAge time.Duration) (CacheEntry, error) {
	var e CacheEntry
	var outputs, created string
	err := tx.tx.QueryRowContext(ctx, `SELECT key, run_uuid, step, outputs, created_at FROM pipeline_cache WHERE tenant = ? AND key = ?`, tenant, key).
		Scan(&e.Key, &e.RunID, &e.Step, &outputs, &created)
	if err != nil {
		return CacheEntry{}, mapErr(err)
	}
	e.CreatedAt = parseTime(created)
	if maxAge > 0 && tx.now.Sub(e.CreatedAt) > maxAge {
		return CacheEntry{}, ErrNotFound
	}
	return e, json.Unmarshal([]byte(outputs), &e.Outputs)
}

// PutPipelineCache records (or refreshes) a key's result.
func (tx *Tx) PutPipelineCache(ctx context.Context, tenant string, e CacheEntry) error {
	if len(e.Key) != 64 {
		return errors.New("store: a cache key is a sha256 in hex")
	}
	out, err := json.Marshal(e.Outputs)
	if err != nil {
		return err
	}
	_, err = tx.tx.ExecContext(ctx, `INSERT OR REPLACE INTO pipeline_cache (tenant, key, run_uuid, step, outputs, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		tenant, e.Key, e.RunID, e.Step, string(out), formatTime(tx.now))
	return err
}

// PipelineImage is the digest a node last resolved for image ("" when never seen).
func (tx *Tx) PipelineImage(ctx context.Context, tenant, image string) (string, error) {
	var id string
	err := tx.tx.QueryRowContext(ctx, `SELECT image_id FROM pipeline_images WHERE tenant = ? AND image = ?`, tenant, image).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// PutPipelineImage records the digest a node resolved for image.
func (tx *Tx) PutPipelineImage(ctx context.Context, tenant, image, imageID string) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT OR REPLACE INTO pipeline_images (tenant, image, image_id, seen_at) VALUES (?, ?, ?, ?)`,
		tenant, truncate(image, 512), truncate(imageID, 512), formatTime(tx.now))
	return err
}

// Tag and artifact prefixes of a step's child run: output parameters are
// tags ferry.output.<name>, output artifacts live under outputs/<name>,
// inputs under inputs/<name> (the same blobs, by digest).
const (
	TagStepOutput    = "ferry.output."
	StepOutputPrefix = "outputs/"
	StepInputPrefix  = "inputs/"
)

// CreateStepRun makes a step's tracking run, a child of the pipeline run,
// and maps each input artifact (name → hex digest) into its tree under
// inputs/<name>, so the step reads them from its own run.
func (tx *Tx) CreateStepRun(ctx context.Context, r PipelineRun, row string, inputs map[string]string) (string, error) {
	parent, err := tx.runInfo(ctx, r.Tenant, r.RunID)
	if err != nil {
		return "", err
	}
	child, err := tx.CreateRun(ctx, NewRun{Tenant: r.Tenant, ExperimentID: parent.ExperimentID, UserID: r.CreatedBy, Name: row,
		Tags: []KV{{Key: TagParentRunID, Value: r.RunID}, {Key: TagPipeline, Value: r.Pipeline}, {Key: TagPipelineStep, Value: row}, {Key: TagUser, Value: r.CreatedBy}}})
	if err != nil {
		return "", err
	}
	for name, digest := range inputs {
		var size int64
		if err := tx.tx.QueryRowContext(ctx, `SELECT size FROM artifact_blobs WHERE digest = ?`, digest).Scan(&size); err != nil {
			return "", fmt.Errorf("input %s (sha256:%s): %w", name, digest, mapErr(err))
		}
		if err := tx.PutRunArtifact(ctx, r.Tenant, child.Info.ID, StepInputPrefix+name, digest, size); err != nil {
			return "", err
		}
	}
	return child.Info.ID, nil
}

// StepRunOutputs reads what a step reported to its run: output parameters
// (tags) and output artifacts ("sha256:<hex>").
func (tx *Tx) StepRunOutputs(ctx context.Context, tenant, runID string) (map[string]string, error) {
	out := map[string]string{}
	tags, err := tx.kvs(ctx, `SELECT key, value FROM run_tags WHERE run_uuid = ? AND substr(key, 1, ?) = ?`, runID, len(TagStepOutput), TagStepOutput)
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		out[t.Key[len(TagStepOutput):]] = t.Value
	}
	arts, err := tx.ListRunArtifacts(ctx, tenant, runID, StepOutputPrefix)
	if err != nil {
		return nil, err
	}
	for _, a := range arts {
		if !a.IsDir {
			out[a.Path[len(StepOutputPrefix):]] = "sha256:" + a.Digest
		}
	}
	return out, nil
}

// EndStepRun moves a step's tracking run to status (FINISHED, FAILED, KILLED).
func (tx *Tx) EndStepRun(ctx context.Context, tenant, runID, status string) error {
	end := tx.now.UnixMilli()
	_, err := tx.UpdateRun(ctx, tenant, runID, RunUpdate{Status: &status, EndTime: &end})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// PipelineStepsOfRuns lists the steps of several runs in one query, by run id.
func (tx *Tx) PipelineStepsOfRuns(ctx context.Context, runIDs []int64) (map[int64][]PipelineStep, error) {
	out := map[int64][]PipelineStep{}
	if len(runIDs) == 0 {
		return out, nil
	}
	ids, err := json.Marshal(runIDs)
	if err != nil {
		return nil, err
	}
	rows, err := tx.tx.QueryContext(ctx, `SELECT `+pipelineStepCols+` FROM pipeline_steps
		WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, name`, string(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanPipelineStep(rows)
		if err != nil {
			return nil, err
		}
		out[s.RunID] = append(out[s.RunID], s)
	}
	return out, rows.Err()
}
