package mlflow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/ferry-ml/ferry/store"
)

type metricJSON struct {
	Key       string `json:"key"`
	Value     double `json:"value"`
	Timestamp int64  `json:"timestamp"`
	Step      int64  `json:"step"`
	// A logged model's metrics name the dataset, the model and the run.
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
	ModelID       string `json:"model_id,omitempty"`
	RunID         string `json:"run_id,omitempty"`
}

type runInfoJSON struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type runJSON struct {
	Info runInfoJSON `json:"info"`
	Data struct {
		Metrics []metricJSON `json:"metrics,omitempty"`
		Params  []kv         `json:"params,omitempty"`
		Tags    []kv         `json:"tags,omitempty"`
	} `json:"data"`
	Inputs  struct{}     `json:"inputs"`
	Outputs *outputsJSON `json:"outputs,omitempty"`
}

// outputsJSON is a run's RunOutputs: the logged models it produced.
type outputsJSON struct {
	ModelOutputs []modelOutputJSON `json:"model_outputs"`
}

type modelOutputJSON struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

func toRunInfo(r store.RunInfo) runInfoJSON {
	return runInfoJSON{RunID: r.ID, RunUUID: r.ID, RunName: r.Name, ExperimentID: strconv.FormatInt(r.ExperimentID, 10), UserID: r.UserID,
		Status: r.Status, StartTime: r.StartTime, EndTime: r.EndTime, ArtifactURI: r.ArtifactURI, LifecycleStage: r.LifecycleStage}
}

func toMetric(m store.Metric) metricJSON {
	return metricJSON{Key: m.Key, Value: double(m.Value), Timestamp: m.Timestamp, Step: m.Step}
}

func toRun(r store.Run) runJSON {
	out := runJSON{Info: toRunInfo(r.Info)}
	for _, m := range r.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, toMetric(m))
	}
	out.Data.Params, out.Data.Tags = toKVs(r.Params), toKVs(r.Tags)
	return out
}

// runRef is how requests name a run: run_id, or the deprecated run_uuid.
type runRef struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (r runRef) id() (string, error) {
	switch {
	case r.RunID != "":
		return r.RunID, nil
	case r.RunUUID != "":
		return r.RunUUID, nil
	}
	return "", missing("run_id")
}

func (h *Handler) createRun(r *request) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		UserID       string `json:"user_id"`
		RunName      string `json:"run_name"`
		StartTime    jInt   `json:"start_time"`
		Tags         []kv   `json:"tags"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.ExperimentID == "" {
		in.ExperimentID = "0"
	}
	exp, err := experimentID(in.ExperimentID)
	if err != nil {
		return nil, err
	}
	if in.UserID == "" {
		in.UserID = r.user.Name
	}
	var run store.Run
	err = h.writeTarget(r, "createRun", func(tx *store.Tx) (string, error) {
		var err error
		run, err = tx.CreateRun(r.Context(), store.NewRun{Tenant: r.tenant, ExperimentID: exp, UserID: in.UserID, Name: in.RunName, StartTime: in.StartTime.V, Tags: fromKVs(in.Tags)})
		return "run/" + run.Info.ID, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": toRun(run)}, nil
}

func (h *Handler) getRun(r *request) (any, error) {
	var in runRef
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	var run store.Run
	var outs []store.ModelOutput
	err = h.read(r, func(tx *store.Tx) error {
		if run, err = tx.Run(r.Context(), r.tenant, id); err != nil {
			return err
		}
		outs, err = tx.RunOutputs(r.Context(), r.tenant, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := toRun(run)
	if len(outs) > 0 {
		out.Outputs = &outputsJSON{ModelOutputs: make([]modelOutputJSON, len(outs))}
		for i, o := range outs {
			out.Outputs.ModelOutputs[i] = modelOutputJSON{ModelID: o.ModelID, Step: o.Step}
		}
	}
	return map[string]any{"run": out}, nil
}

func (h *Handler) updateRun(r *request) (any, error) {
	var in struct {
		runRef
		Status  *string `json:"status"`
		EndTime jInt    `json:"end_time"`
		RunName *string `json:"run_name"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	if err := r.mayWrite(id); err != nil {
		return nil, err
	}
	u := store.RunUpdate{Status: in.Status, Name: in.RunName}
	if in.EndTime.Set {
		u.EndTime = &in.EndTime.V
	}
	var info store.RunInfo
	err = h.write(r, "", "", func(tx *store.Tx) error {
		info, err = tx.UpdateRun(r.Context(), r.tenant, id, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"run_info": toRunInfo(info)}, nil
}

func (h *Handler) deleteRun(r *request) (any, error)  { return h.runStage(r, store.StageDeleted) }
func (h *Handler) restoreRun(r *request) (any, error) { return h.runStage(r, store.StageActive) }

func (h *Handler) runStage(r *request, stage string) (any, error) {
	var in runRef
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	action := map[string]string{store.StageDeleted: "deleteRun", store.StageActive: "restoreRun"}[stage]
	return struct{}{}, h.write(r, action, "run/"+id, func(tx *store.Tx) error {
		return tx.SetRunStage(r.Context(), r.tenant, id, stage)
	})
}

func (h *Handler) searchRuns(r *request) (any, error) {
	var in struct {
		searchIn
		ExperimentIDs jStrs    `json:"experiment_ids"`
		RunViewType   viewType `json:"run_view_type"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	sq, err := in.parse(runIdents, 1000, 50000)
	if err != nil {
		return nil, err
	}
	n, off := sq.n, sq.off
	q := store.RunQuery{Tenant: r.tenant, ViewType: string(in.RunViewType), Filters: sq.filters, Orders: sq.orders, Offset: off, Limit: n + 1}
	for _, s := range in.ExperimentIDs {
		id, err := experimentID(s)
		if err != nil {
			return nil, err
		}
		q.ExperimentIDs = append(q.ExperimentIDs, id)
	}
	var runs []store.Run
	err = h.read(r, func(tx *store.Tx) error {
		runs, err = tx.SearchRuns(r.Context(), q)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := struct {
		Runs          []runJSON `json:"runs"`
		NextPageToken string    `json:"next_page_token,omitempty"`
	}{Runs: []runJSON{}}
	if len(runs) > n {
		runs, out.NextPageToken = runs[:n], pageToken(off+n)
	}
	for _, run := range runs {
		out.Runs = append(out.Runs, toRun(run))
	}
	return out, nil
}

// metricIn is MLflow's Metric (log-batch) and LogMetric's fields: MLflow 3
// links a point to a logged model (model_id) and the dataset it was
// measured on.
type metricIn struct {
	Key           string `json:"key"`
	Value         jFloat `json:"value"`
	Timestamp     jInt   `json:"timestamp"`
	Step          jInt   `json:"step"`
	ModelID       string `json:"model_id"`
	DatasetName   string `json:"dataset_name"`
	DatasetDigest string `json:"dataset_digest"`
}

// metric checks the required fields; path is "" for log-metric and
// "metrics[i]." for a batch, so that errors name the field.
func (m metricIn) metric(path string) (store.Metric, error) {
	switch {
	case m.Key == "":
		return store.Metric{}, missing(path + "key")
	case !m.Value.Set:
		return store.Metric{}, missing(path + "value")
	case !m.Timestamp.Set:
		return store.Metric{}, missing(path + "timestamp")
	}
	return store.Metric{Key: m.Key, Value: m.Value.V, Timestamp: m.Timestamp.V, Step: m.Step.V,
		ModelID: m.ModelID, DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest}, nil
}

// Metric points, params and tags are data: they are not audited one by
// one (run creation and registry changes are).
// A point linked to a logged model (model_id) is kept in the run and in the
// model; a run token may link only to models its run logged.
func (h *Handler) logBatchTo(r *request, id string, metrics []store.Metric, params, tags []store.KV) error {
	if err := r.mayWrite(id); err != nil {
		return err
	}
	if err := store.ValidateBatch(metrics, params, tags); err != nil {
		return err
	}
	return h.write(r, "", "", func(tx *store.Tx) error {
		if r.run != "" {
			seen := map[string]bool{}
			for _, m := range metrics {
				if m.ModelID == "" || seen[m.ModelID] {
					continue
				}
				seen[m.ModelID] = true
				if err := r.ownsModel(tx, m.ModelID); err != nil {
					return err
				}
			}
		}
		return tx.LogBatch(r.Context(), r.tenant, id, metrics, params, tags)
	})
}

func (h *Handler) logMetric(r *request) (any, error) {
	var in struct {
		runRef
		metricIn
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	m, err := in.metric("")
	if err != nil {
		return nil, err
	}
	return struct{}{}, h.logBatchTo(r, id, []store.Metric{m}, nil, nil)
}

// runKV reads the body of log-parameter and set-tag: a run and one key and value.
func (h *Handler) runKV(r *request) (string, store.KV, error) {
	var in struct {
		runRef
		kv
	}
	if err := h.decode(r, &in); err != nil {
		return "", store.KV{}, err
	}
	id, err := in.id()
	if err != nil {
		return "", store.KV{}, err
	}
	if in.Key == "" {
		return "", store.KV{}, missing("key")
	}
	return id, store.KV{Key: in.Key, Value: in.Value}, nil
}

func (h *Handler) logParam(r *request) (any, error) {
	id, p, err := h.runKV(r)
	if err != nil {
		return nil, err
	}
	return struct{}{}, h.logBatchTo(r, id, nil, []store.KV{p}, nil)
}

func (h *Handler) setTag(r *request) (any, error) {
	id, t, err := h.runKV(r)
	if err != nil {
		return nil, err
	}
	return struct{}{}, h.logBatchTo(r, id, nil, nil, []store.KV{t})
}

func (h *Handler) deleteTag(r *request) (any, error) {
	var in struct {
		runRef
		Key string `json:"key"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	if in.Key == "" {
		return nil, missing("key")
	}
	if err := r.mayWrite(id); err != nil {
		return nil, err
	}
	return struct{}{}, h.write(r, "", "", func(tx *store.Tx) error { return tx.DeleteRunTag(r.Context(), r.tenant, id, in.Key) })
}

func (h *Handler) logBatch(r *request) (any, error) {
	var in struct {
		runRef
		Metrics []metricIn `json:"metrics"`
		Params  []kv       `json:"params"`
		Tags    []kv       `json:"tags"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	ms := make([]store.Metric, len(in.Metrics))
	for i, m := range in.Metrics {
		if ms[i], err = m.metric(fmt.Sprintf("metrics[%d].", i)); err != nil {
			return nil, err
		}
	}
	return struct{}{}, h.logBatchTo(r, id, ms, fromKVs(in.Params), fromKVs(in.Tags))
}

func (h *Handler) metricHistory(r *request) (any, error) {
	var in struct {
		runRef
		MetricKey  string `json:"metric_key"`
		PageToken  string `json:"page_token"`
		MaxResults jInt   `json:"max_results"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	if in.MetricKey == "" {
		return nil, missing("metric_key")
	}
	// Without max_results MLflow returns the whole series.
	n, err := limit(in.MaxResults, 1<<30, 1<<30)
	if err != nil {
		return nil, err
	}
	off, err := parsePageToken(in.PageToken)
	if err != nil {
		return nil, err
	}
	hw := historyPool.Get().(*historyWriter)
	defer historyPool.Put(hw)
	hw.start(in.MetricKey)
	more := false
	err = h.read(r, func(tx *store.Tx) error {
		hw.reset()
		more = false
		return tx.EachMetricPoint(r.Context(), r.tenant, id, in.MetricKey, off, n+1, func(m store.Metric) {
			if hw.points == n {
				more = true
				return
			}
			hw.point(m)
		})
	})
	if err != nil {
		return nil, err
	}
	next := ""
	if more {
		next = pageToken(off + n)
	}
	r.w.Header().Set("Content-Type", "application/json")
	r.w.WriteHeader(http.StatusOK)
	_, _ = r.w.Write(hw.finish(next))
	return nil, nil
}

// historyWriter writes get-history's reply as it reads the points: the key
// is encoded once, each point appended with strconv (no reflection, no
// per-point allocation); the buffer is reused across requests.
type historyWriter struct {
	buf    []byte
	key    []byte
	points int
}

var historyPool = sync.Pool{New: func() any { return &historyWriter{} }}

// maxPooledHistory is the largest buffer kept for reuse (a 10,000-point
// series is about 700 KB).
const maxPooledHistory = 4 << 20

func (hw *historyWriter) start(key string) {
	hw.key, _ = json.Marshal(key)
	if cap(hw.buf) > maxPooledHistory {
		hw.buf = nil
	}
}

func (hw *historyWriter) reset() {
	hw.buf = append(hw.buf[:0], `{"metrics":[`...)
	hw.points = 0
}

func (hw *historyWriter) point(m store.Metric) {
	b := hw.buf
	if hw.points > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"key":`...)
	b = append(b, hw.key...)
	b = append(b, `,"value":`...)
	b = appendDouble(b, m.Value)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, m.Timestamp, 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, m.Step, 10)
	hw.buf = append(b, '}')
	hw.points++
}

// finish closes the reply; next is a page token (base64, no escaping needed).
func (hw *historyWriter) finish(next string) []byte {
	hw.buf = append(hw.buf, ']')
	if next != "" {
		hw.buf = append(append(append(hw.buf, `,"next_page_token":"`...), next...), '"')
	}
	hw.buf = append(hw.buf, "}\n"...)
	return hw.buf
}
