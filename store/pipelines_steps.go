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

// PipelineSteps lists a run's steps by name.
func (tx *Tx) PipelineSteps(ctx context.Context, runID int64) ([]PipelineStep, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT run_id, name, step, item, item_value, state, reason, attempt, pod, child_run, token_id,
		cache_key, cached_from, outputs, image_id, log_saved, retry_at, started_at, finished_at, updated_at
		FROM pipeline_steps WHERE run_id = ? ORDER BY name`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PipelineStep
	for rows.Next() {
		var s PipelineStep
		var item sql.NullInt32
		var outputs, updated string
		var retry, started, finished sql.NullString
		if err := rows.Scan(&s.RunID, &s.Name, &s.Step, &item, &s.ItemValue, &s.State, &s.Reason, &s.Attempt, &s.Pod, &s.ChildRun, &s.TokenID,
			&s.CacheKey, &s.CachedFrom, &outputs, &s.ImageID, &s.LogSaved, &retry, &started, &finished, &updated); err != nil {
			return nil, err
		}
		if item.Valid {
			i := item.Int32
			s.Item = &i
		}
		if err := json.Unmarshal([]byte(outputs), &s.Outputs); err != nil {
			return nil, fmt.Errorf("step %s outputs: %w", s.Name, err)
		}
		s.RetryAt, s.StartedAt, s.FinishedAt, s.UpdatedAt = timePtr(retry), timePtr(started), timePtr(finished), parseTime(updated)
		out = append(out, s)
	}
	return out, rows.Err()
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
