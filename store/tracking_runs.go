package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
)

// RunInfo is a run's metadata.
type RunInfo struct {
	ID             string
	Tenant         string
	ExperimentID   int64
	Name           string
	UserID         string
	Status         string
	StartTime      int64
	EndTime        *int64
	LifecycleStage string
	ArtifactURI    string
	ParentRunID    string
}

// Metric is one point of a metric's series. Value may be NaN or ±Inf.
// ModelID links a logged point to a logged model as well (MLflow 3), and
// DatasetName and DatasetDigest name the data it was measured on; without
// a ModelID they are checked and not kept, as MLflow does.
type Metric struct {
	Key           string
	Value         float64
	Timestamp     int64
	Step          int64
	ModelID       string
	DatasetName   string
	DatasetDigest string
}

// Run is a run with its data: params, tags and the latest value of each metric.
type Run struct {
	Info    RunInfo
	Metrics []Metric
	Params  []KV
	Tags    []KV
}

// NewRun is what CreateRun needs.
type NewRun struct {
	Tenant       string
	ExperimentID int64
	UserID       string
	Name         string
	StartTime    int64
	Tags         []KV
}

// CreateRun starts a RUNNING run in an active experiment. Its name is the
// given one, else the mlflow.runName tag, else generated; its parent is the
// mlflow.parentRunId tag (a run of the same tenant).
func (tx *Tx) CreateRun(ctx context.Context, nr NewRun) (Run, error) {
	if len(nr.Tags) > MaxBatchTags {
		return Run{}, invalidf("a run is created with at most %d tags, not %d", MaxBatchTags, len(nr.Tags))
	}
	for _, t := range nr.Tags {
		if err := validTag(t.Key, t.Value); err != nil {
			return Run{}, err
		}
	}
	e, err := tx.Experiment(ctx, nr.Tenant, nr.ExperimentID)
	if err != nil {
		return Run{}, err
	}
	if e.LifecycleStage != StageActive {
		return Run{}, invalidf("experiment %d is deleted; runs cannot be created in it", e.ID)
	}
	tags := map[string]string{}
	for _, t := range nr.Tags {
		tags[t.Key] = t.Value
	}
	name := nr.Name
	if name == "" {
		name = tags[TagRunName]
	}
	id := NewRunID()
	if name == "" {
		name = "run-" + id[:8]
	}
	if len(name) > MaxNameLength {
		return Run{}, invalidf("run name is longer than %d characters", MaxNameLength)
	}
	tags[TagRunName] = name
	parent := tags[TagParentRunID]
	if parent != "" {
		if _, err := tx.runInfo(ctx, nr.Tenant, parent); err != nil {
			return Run{}, invalidf("parent run %s: %v", parent, err)
		}
	}
	if nr.UserID == "" {
		nr.UserID = tags[TagUser]
	}
	if len(nr.UserID) > MaxNameLength {
		return Run{}, invalidf("user id is longer than %d characters", MaxNameLength)
	}
	if nr.StartTime == 0 {
		nr.StartTime = tx.now.UnixMilli()
	}
	info := RunInfo{ID: id, Tenant: nr.Tenant, ExperimentID: e.ID, Name: name, UserID: nr.UserID, Status: RunRunning,
		StartTime: nr.StartTime, LifecycleStage: StageActive, ArtifactURI: strings.TrimSuffix(e.ArtifactLocation, "/") + "/" + id + "/artifacts", ParentRunID: parent}
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO runs (run_uuid, tenant, experiment_id, name, user_id, status, start_time, lifecycle_stage, artifact_uri, parent_run_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, info.ID, info.Tenant, info.ExperimentID, info.Name, info.UserID, info.Status, info.StartTime, info.LifecycleStage, info.ArtifactURI, info.ParentRunID)
	if err != nil {
		return Run{}, fmt.Errorf("create run: %w", mapErr(err))
	}
	for k, v := range tags {
		if err := tx.putTag(ctx, id, k, v); err != nil {
			return Run{}, err
		}
	}
	return tx.Run(ctx, nr.Tenant, id)
}

const runCols = "run_uuid, tenant, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri, parent_run_id"

func scanRunInfo(scan func(...any) error) (RunInfo, error) {
	var r RunInfo
	var end sql.NullInt64
	err := scan(&r.ID, &r.Tenant, &r.ExperimentID, &r.Name, &r.UserID, &r.Status, &r.StartTime, &end, &r.LifecycleStage, &r.ArtifactURI, &r.ParentRunID)
	r.EndTime = nullInt(end)
	return r, err
}

func (tx *Tx) runInfo(ctx context.Context, tenant, id string) (RunInfo, error) {
	r, err := scanRunInfo(tx.tx.QueryRowContext(ctx, "SELECT "+runCols+" FROM runs WHERE run_uuid = ? AND tenant = ?", id, tenant).Scan)
	if err != nil {
		if mapErr(err) == ErrNotFound {
			return RunInfo{}, fmt.Errorf("%w: run %s", ErrNotFound, id)
		}
		return RunInfo{}, err
	}
	return r, nil
}

// RunInfo reads a run's metadata.
func (tx *Tx) RunInfo(ctx context.Context, tenant, id string) (RunInfo, error) {
	return tx.runInfo(ctx, tenant, id)
}

// Run reads a run of a tenant with its data.
func (tx *Tx) Run(ctx context.Context, tenant, id string) (Run, error) {
	info, err := tx.runInfo(ctx, tenant, id)
	if err != nil {
		return Run{}, err
	}
	runs, err := tx.withData(ctx, []RunInfo{info})
	if err != nil {
		return Run{}, err
	}
	return runs[0], nil
}

// withData loads params, tags and latest metrics of the runs.
func (tx *Tx) withData(ctx context.Context, infos []RunInfo) ([]Run, error) {
	out := make([]Run, len(infos))
	if len(infos) == 0 {
		return out, nil
	}
	idx := make(map[string]int, len(infos))
	args := make([]any, len(infos))
	for i, in := range infos {
		out[i] = Run{Info: in, Metrics: []Metric{}, Params: []KV{}, Tags: []KV{}}
		idx[in.ID], args[i] = i, in.ID
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(infos)), ",") + ")"
	for _, q := range []struct {
		sql string
		add func(i int, k, v string)
	}{
		{"SELECT run_uuid, key, value FROM run_params WHERE run_uuid IN " + in + " ORDER BY key", func(i int, k, v string) { out[i].Params = append(out[i].Params, KV{k, v}) }},
		{"SELECT run_uuid, key, value FROM run_tags WHERE run_uuid IN " + in + " ORDER BY key", func(i int, k, v string) { out[i].Tags = append(out[i].Tags, KV{k, v}) }},
	} {
		rows, err := tx.tx.QueryContext(ctx, q.sql, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				rows.Close()
				return nil, err
			}
			q.add(idx[id], k, v)
		}
		if err := errJoinClose(rows); err != nil {
			return nil, err
		}
	}
	rows, err := tx.tx.QueryContext(ctx, "SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN "+in+" ORDER BY key", args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		m, err := scanMetric(func(dst ...any) error { return rows.Scan(append([]any{&id}, dst...)...) })
		if err != nil {
			rows.Close()
			return nil, err
		}
		out[idx[id]].Metrics = append(out[idx[id]].Metrics, m)
	}
	return out, errJoinClose(rows)
}

func errJoinClose(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

func scanMetric(scan func(...any) error) (Metric, error) {
	var m Metric
	var v sql.NullFloat64
	var isNaN bool
	if err := scan(&m.Key, &v, &isNaN, &m.Timestamp, &m.Step); err != nil {
		return Metric{}, err
	}
	m.Value = v.Float64
	if isNaN {
		m.Value = math.NaN()
	}
	return m, nil
}

// RunUpdate changes a run; nil fields are kept.
type RunUpdate struct {
	Status  *string
	EndTime *int64
	Name    *string
}

// UpdateRun changes a run's status, end time or name (the name also in its mlflow.runName tag).
func (tx *Tx) UpdateRun(ctx context.Context, tenant, id string, u RunUpdate) (RunInfo, error) {
	r, err := tx.runInfo(ctx, tenant, id)
	if err != nil {
		return RunInfo{}, err
	}
	if r.LifecycleStage != StageActive {
		return RunInfo{}, invalidf("run %s is deleted", id)
	}
	if u.Status != nil {
		if !ValidRunStatus(*u.Status) {
			return RunInfo{}, invalidf("run status %q is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED", *u.Status)
		}
		r.Status = *u.Status
	}
	if u.EndTime != nil {
		r.EndTime = u.EndTime
	}
	if u.Name != nil && *u.Name != "" {
		if len(*u.Name) > MaxNameLength {
			return RunInfo{}, invalidf("run name is longer than %d characters", MaxNameLength)
		}
		r.Name = *u.Name
		if err := tx.putTag(ctx, id, TagRunName, r.Name); err != nil {
			return RunInfo{}, err
		}
	}
	_, err = tx.tx.ExecContext(ctx, "UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?", r.Status, r.EndTime, r.Name, id)
	return r, mapErr(err)
}

// SetRunStage marks a run deleted or active again.
func (tx *Tx) SetRunStage(ctx context.Context, tenant, id, stage string) error {
	if _, err := tx.runInfo(ctx, tenant, id); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, "UPDATE runs SET lifecycle_stage = ? WHERE run_uuid = ?", stage, id)
	return mapErr(err)
}

// LogBatch writes metrics, params and tags to an active run, all or nothing
// (the caller's transaction rolls back on error). A param already set to a
// different value is ErrInvalid, as in MLflow; the same value is accepted.
func (tx *Tx) LogBatch(ctx context.Context, tenant, runID string, metrics []Metric, params, tags []KV) error {
	if err := ValidateBatch(metrics, params, tags); err != nil {
		return err
	}
	r, err := tx.runInfo(ctx, tenant, runID)
	if err != nil {
		return err
	}
	if r.LifecycleStage != StageActive {
		return invalidf("run %s is deleted; it must be active to be logged to", runID)
	}
	if len(params) > 0 {
		if err := tx.logParams(ctx, runID, params); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := tx.putTag(ctx, runID, t.Key, t.Value); err != nil {
			return err
		}
		if t.Key == TagRunName {
			if _, err := tx.tx.ExecContext(ctx, "UPDATE runs SET name = ? WHERE run_uuid = ?", t.Value, runID); err != nil {
				return err
			}
		}
	}
	if len(metrics) > 0 {
		if err := tx.logMetrics(ctx, runID, metrics); err != nil {
			return err
		}
		return tx.linkModelMetrics(ctx, tenant, runID, metrics)
	}
	return nil
}

// ValidateBatch checks MLflow's limits on a batch before anything is written.
func ValidateBatch(metrics []Metric, params, tags []KV) error {
	switch {
	case len(metrics) > MaxBatchMetrics:
		return invalidf("a batch has at most %d metrics, not %d", MaxBatchMetrics, len(metrics))
	case len(params) > MaxBatchParams:
		return invalidf("a batch has at most %d params, not %d", MaxBatchParams, len(params))
	case len(tags) > MaxBatchTags:
		return invalidf("a batch has at most %d tags, not %d", MaxBatchTags, len(tags))
	case len(metrics)+len(params)+len(tags) > MaxBatchTotal:
		return invalidf("a batch has at most %d metrics, params and tags in all, not %d", MaxBatchTotal, len(metrics)+len(params)+len(tags))
	}
	for i, m := range metrics {
		if err := validKey("metric", m.Key); err != nil {
			return err
		}
		if err := checkMetricLink(pointPath(len(metrics), i), m); err != nil {
			return err
		}
	}
	seen := map[string]string{}
	for _, p := range params {
		if err := validKey("param", p.Key); err != nil {
			return err
		}
		if len(p.Value) > MaxParamValueLength {
			return invalidf("param %q value is %d characters, more than the limit of %d", p.Key, len(p.Value), MaxParamValueLength)
		}
		if v, ok := seen[p.Key]; ok && v != p.Value {
			return invalidf("param %q is given twice with different values", p.Key)
		}
		seen[p.Key] = p.Value
	}
	for _, t := range tags {
		if err := validTag(t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) logParams(ctx context.Context, runID string, params []KV) error {
	for _, p := range params {
		var old string
		err := tx.tx.QueryRowContext(ctx, "SELECT value FROM run_params WHERE run_uuid = ? AND key = ?", runID, p.Key).Scan(&old)
		switch {
		case err == nil && old != p.Value:
			return invalidf("changing param values is not allowed: param %q of run %s is %q, not %q", p.Key, runID, old, p.Value)
		case err == nil:
			continue
		case mapErr(err) != ErrNotFound:
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, "INSERT INTO run_params (run_uuid, key, value) VALUES (?, ?, ?)", runID, p.Key, p.Value); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

func (tx *Tx) putTag(ctx context.Context, runID, key, value string) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO run_tags (run_uuid, key, value) VALUES (?, ?, ?)
		ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value`, runID, key, value)
	return mapErr(err)
}

// DeleteRunTag removes a tag of an active run; a missing tag is ErrNotFound.
func (tx *Tx) DeleteRunTag(ctx context.Context, tenant, runID, key string) error {
	r, err := tx.runInfo(ctx, tenant, runID)
	if err != nil {
		return err
	}
	if r.LifecycleStage != StageActive {
		return invalidf("run %s is deleted", runID)
	}
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM run_tags WHERE run_uuid = ? AND key = ?", runID, key)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no tag %q on run %s", ErrNotFound, key, runID)
	}
	return nil
}

func metricValue(v float64) (any, bool) {
	if math.IsNaN(v) {
		return nil, true
	}
	return v, false
}

// after says whether point a replaces b as the latest (MLflow: larger step,
// then larger timestamp, then larger value).
func after(a, b Metric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return a.Value > b.Value || math.IsNaN(b.Value) && !math.IsNaN(a.Value)
}

func (tx *Tx) logMetrics(ctx context.Context, runID string, metrics []Metric) error {
	ins, err := tx.tx.PrepareContext(ctx, "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer ins.Close()
	latest := map[string]Metric{}
	for _, m := range metrics {
		v, isNaN := metricValue(m.Value)
		if _, err := ins.ExecContext(ctx, runID, m.Key, v, isNaN, m.Timestamp, m.Step); err != nil {
			return mapErr(err)
		}
		if l, ok := latest[m.Key]; !ok || after(m, l) {
			latest[m.Key] = m
		}
	}
	for _, m := range latest {
		var old Metric
		old, err := scanMetric(tx.tx.QueryRowContext(ctx, "SELECT key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid = ? AND key = ?", runID, m.Key).Scan)
		if err == nil && !after(m, old) {
			continue
		}
		if err != nil && mapErr(err) != ErrNotFound {
			return err
		}
		v, isNaN := metricValue(m.Value)
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step`,
			runID, m.Key, v, isNaN, m.Timestamp, m.Step); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// MetricHistory lists a run's points of one metric by step then timestamp, from offset.
func (tx *Tx) MetricHistory(ctx context.Context, tenant, runID, key string, offset, limit int) ([]Metric, error) {
	out := []Metric{}
	err := tx.EachMetricPoint(ctx, tenant, runID, key, offset, limit, func(m Metric) { out = append(out, m) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// historySQL reads one series in the order of the covering index
// metrics_history, so that SQLite walks the index once and never sorts or
// visits the table. It selects only what changes from point to point: the
// key is the one asked for, and NaN is a NULL value (is_nan orders it).
const historySQL = `SELECT value, timestamp, step FROM metrics INDEXED BY metrics_history WHERE run_uuid = ? AND key = ?
	ORDER BY step, timestamp, value, is_nan LIMIT ? OFFSET ?`

// EachMetricPoint hands a run's points of one metric to fn in MetricHistory's
// order, without building a slice (get-history writes them as they come).
// The values are scanned into interfaces: database/sql then copies the
// driver's values instead of converting each through reflection.
func (tx *Tx) EachMetricPoint(ctx context.Context, tenant, runID, key string, offset, limit int, fn func(Metric)) error {
	if _, err := tx.runInfo(ctx, tenant, runID); err != nil {
		return err
	}
	rows, err := tx.tx.QueryContext(ctx, historySQL, runID, key, limit, offset)
	if err != nil {
		return err
	}
	var v, ts, step any
	m := Metric{Key: key}
	for rows.Next() {
		if err := rows.Scan(&v, &ts, &step); err != nil {
			rows.Close()
			return err
		}
		switch x := v.(type) {
		case float64:
			m.Value = x
		case int64: // a REAL column keeps integral values as REAL; be safe
			m.Value = float64(x)
		default: // NULL: NaN
			m.Value = math.NaN()
		}
		m.Timestamp, _ = ts.(int64)
		m.Step, _ = step.(int64)
		fn(m)
	}
	return errJoinClose(rows)
}
