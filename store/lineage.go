package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// Lineage reads what already links artifacts, runs, steps and model
// versions: run_artifacts by digest (a step's inputs are mapped into its
// run under inputs/, its outputs uploaded under outputs/), the step whose
// run a tracking run is (pipeline_steps.child_run), the job a run tracks,
// and the run a model version was registered from.

// MaxLineageRuns bounds the runs one artifact's lineage lists.
const MaxLineageRuns = 1000

// ArtifactUse is one run whose tree holds a digest, with what made the run.
type ArtifactUse struct {
	RunID string
	Path  string
	Size  int64
	// Consumed: the run is a pipeline step's and the path is one of its
	// inputs (inputs/<name>); otherwise the run produced (uploaded) it.
	Consumed bool
	// The pipeline step whose run it is, if any.
	PipelineRun string
	Pipeline    string
	Step        string
	// Job is the training job the run tracks, if any.
	Job string
}

// ArtifactUses lists the tenant's runs whose trees hold digest (hex), at
// most limit (and MaxLineageRuns), oldest first; more says some were left off.
func (tx *Tx) ArtifactUses(ctx context.Context, tenant, digest string, limit int) (uses []ArtifactUse, more bool, err error) {
	if limit <= 0 || limit > MaxLineageRuns {
		limit = MaxLineageRuns
	}
	rows, err := tx.tx.QueryContext(ctx, `SELECT ra.run_uuid, ra.path, ra.size, COALESCE(pr.run_uuid, ''), COALESCE(p.name, ''), COALESCE(ps.name, ''), COALESCE(j.name, '')
		FROM run_artifacts ra
		JOIN runs r ON r.run_uuid = ra.run_uuid
		LEFT JOIN pipeline_steps ps ON ps.child_run = ra.run_uuid AND ps.child_run != ''
		LEFT JOIN pipeline_runs pr ON pr.id = ps.run_id
		LEFT JOIN pipelines p ON p.id = pr.pipeline_id
		LEFT JOIN jobs j ON j.tenant = r.tenant AND j.run_id = ra.run_uuid
		WHERE ra.digest = ? AND r.tenant = ?
		ORDER BY ra.created_at, ra.run_uuid, ra.path LIMIT ?`, digest, tenant, limit+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var u ArtifactUse
		if err := rows.Scan(&u.RunID, &u.Path, &u.Size, &u.PipelineRun, &u.Pipeline, &u.Step, &u.Job); err != nil {
			return nil, false, err
		}
		u.Consumed = u.Step != "" && strings.HasPrefix(u.Path, StepInputPrefix)
		uses = append(uses, u)
	}
	if len(uses) > limit {
		uses, more = uses[:limit], true
	}
	return uses, more, rows.Err()
}

// ModelVersionsHolding lists the tenant's model versions whose files hold
// digest (hex): made from a logged model whose tree holds it, or
// registered from a run's directory (source …/<run>/artifacts/<dir>, or
// runs:/<run>/<dir>) that holds it. uses are the digest's ArtifactUses.
func (tx *Tx) ModelVersionsHolding(ctx context.Context, tenant, digest string, uses []ArtifactUse) ([]ModelVersion, error) {
	out, err := tx.versions(ctx, `tenant = ? AND model_id != '' AND model_id IN (SELECT a.model_id FROM logged_model_artifacts a
		JOIN logged_models m ON m.model_id = a.model_id WHERE a.digest = ? AND m.tenant = ?) ORDER BY name, version LIMIT ?`,
		tenant, digest, tenant, MaxLineageRuns)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, u := range uses {
		if u.Consumed || seen[u.RunID] {
			continue
		}
		seen[u.RunID] = true
		vs, err := tx.versions(ctx, "tenant = ? AND run_id = ? ORDER BY name, version LIMIT ?", tenant, u.RunID, MaxLineageRuns)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if dir, ok := SourceDir(v.Source, u.RunID); ok && (dir == "" || u.Path == dir || strings.HasPrefix(u.Path, dir+"/")) {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// SourceDir is the directory of run's tree that a model version's source
// names (mlflow-artifacts:/<exp>/<run>/artifacts/<dir>, …/<run>/artifacts/<dir>
// or runs:/<run>/<dir>); false when the source is not in run's tree.
func SourceDir(source, run string) (string, bool) {
	if rest, ok := strings.CutPrefix(source, "runs:/"+run); ok && (rest == "" || rest[0] == '/') {
		return strings.Trim(rest, "/"), true
	}
	if _, rest, ok := strings.Cut(source, "/"+run+"/artifacts"); ok && (rest == "" || rest[0] == '/') {
		return strings.Trim(rest, "/"), true
	}
	return "", false
}

// StepOfRun finds the pipeline step (row) whose tracking run is runID
// (ErrNotFound when the run is no step's).
func (tx *Tx) StepOfRun(ctx context.Context, tenant, runID string) (PipelineRun, string, error) {
	var id int64
	var name string
	err := tx.tx.QueryRowContext(ctx, `SELECT ps.run_id, ps.name FROM pipeline_steps ps JOIN pipeline_runs pr ON pr.id = ps.run_id
		WHERE ps.child_run = ? AND ps.child_run != '' AND pr.tenant = ?`, runID, tenant).Scan(&id, &name)
	if errors.Is(err, sql.ErrNoRows) || runID == "" {
		return PipelineRun{}, "", ErrNotFound
	}
	if err != nil {
		return PipelineRun{}, "", err
	}
	rs, err := tx.pipelineRuns(ctx, "r.id = ?", id)
	if err != nil {
		return PipelineRun{}, "", err
	}
	if len(rs) == 0 {
		return PipelineRun{}, "", ErrNotFound
	}
	return rs[0], name, nil
}

// StepInputs are the input artifacts mapped into a step's run: name → hex digest.
func (tx *Tx) StepInputs(ctx context.Context, runID string) (map[string]string, error) {
	out := map[string]string{}
	if runID == "" {
		return out, nil
	}
	kvs, err := tx.kvs(ctx, `SELECT path, digest FROM run_artifacts WHERE run_uuid = ? AND substr(path, 1, ?) = ? ORDER BY path`,
		runID, len(StepInputPrefix), StepInputPrefix)
	if err != nil {
		return nil, err
	}
	for _, kv := range kvs {
		out[strings.TrimPrefix(kv.Key, StepInputPrefix)] = kv.Value
	}
	return out, nil
}

// CachedStep is the step (row name) of run whose outputs a cached step
// with cache key got ("" when the cache entry no longer names that run).
func (tx *Tx) CachedStep(ctx context.Context, tenant, key, run string) (string, error) {
	var step string
	err := tx.tx.QueryRowContext(ctx, `SELECT step FROM pipeline_cache WHERE tenant = ? AND key = ? AND run_uuid = ?`, tenant, key, run).Scan(&step)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return step, err
}
