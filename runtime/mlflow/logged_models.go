package mlflow

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferry-ml/ferry/store"
)

// MLflow 3's logged models (service.proto: CreateLoggedModel and the rest),
// at api/2.0/mlflow/logged-models[/{model_id}[/...]].
const loggedModelsPath = api + "/logged-models"

// loggedModelRoute finds the endpoint of a logged-models path for a method;
// found is false for a path that is none of them. For a known path and
// another method the endpoint lists the methods it has, so that it is
// answered 405.
func loggedModelRoute(path, method string) (ep endpoint, found bool) {
	rest, ok := strings.CutPrefix(path, loggedModelsPath)
	if !ok || (rest != "" && rest[0] != '/') {
		return endpoint{}, false
	}
	rest = strings.TrimPrefix(rest, "/")
	id, sub, _ := strings.Cut(rest, "/")
	var eps map[string]endpoint
	switch {
	case rest == "":
		eps = map[string]endpoint{http.MethodPost: runOnly(post((*Handler).createLoggedModel))}
	case rest == "search":
		eps = map[string]endpoint{http.MethodPost: {methods: []string{http.MethodPost}, fn: (*Handler).searchLoggedModels}}
	case id == "":
		return endpoint{}, false
	case sub == "":
		eps = map[string]endpoint{
			http.MethodGet:    get((*Handler).getLoggedModel),
			http.MethodPatch:  runOnly(endpoint{methods: []string{http.MethodPatch}, write: true, fn: (*Handler).finalizeLoggedModel}),
			http.MethodDelete: {methods: []string{http.MethodDelete}, write: true, fn: (*Handler).deleteLoggedModel},
		}
	case sub == "tags":
		eps = map[string]endpoint{http.MethodPatch: runOnly(endpoint{methods: []string{http.MethodPatch}, write: true, fn: (*Handler).setLoggedModelTags})}
	case strings.HasPrefix(sub, "tags/") && len(sub) > len("tags/"):
		eps = map[string]endpoint{http.MethodDelete: runOnly(endpoint{methods: []string{http.MethodDelete}, write: true, fn: (*Handler).deleteLoggedModelTag})}
	case sub == "params":
		eps = map[string]endpoint{http.MethodPost: runOnly(post((*Handler).logLoggedModelParams))}
	case sub == "artifacts/directories":
		eps = map[string]endpoint{http.MethodGet: get((*Handler).listLoggedModelArtifacts)}
	case sub == "artifacts/files":
		eps = map[string]endpoint{http.MethodGet: get((*Handler).getLoggedModelArtifact)}
	default:
		return endpoint{}, false
	}
	if ep, ok := eps[method]; ok {
		return ep, true
	}
	for m := range eps {
		ep.methods = append(ep.methods, m)
	}
	return ep, true
}

// modelPathParams reads {model_id} and what follows it from the request's path.
func modelPathParams(r *request) (id, sub string) {
	p := r.URL.Path
	_, rest, _ := strings.Cut(p, "/logged-models/")
	id, sub, _ = strings.Cut(rest, "/")
	return id, sub
}

type loggedModelInfoJSON struct {
	ModelID                string             `json:"model_id"`
	ExperimentID           string             `json:"experiment_id"`
	Name                   string             `json:"name"`
	CreationTimestampMs    int64              `json:"creation_timestamp_ms"`
	LastUpdatedTimestampMs int64              `json:"last_updated_timestamp_ms"`
	ArtifactURI            string             `json:"artifact_uri"`
	Status                 string             `json:"status"`
	ModelType              string             `json:"model_type,omitempty"`
	SourceRunID            string             `json:"source_run_id,omitempty"`
	StatusMessage          string             `json:"status_message,omitempty"`
	Tags                   []kv               `json:"tags,omitempty"`
	Registrations          []registrationJSON `json:"registrations,omitempty"`
}

type registrationJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type loggedModelJSON struct {
	Info loggedModelInfoJSON `json:"info"`
	Data struct {
		Params  []kv         `json:"params,omitempty"`
		Metrics []metricJSON `json:"metrics,omitempty"`
	} `json:"data"`
}

func toLoggedModel(m store.LoggedModel) loggedModelJSON {
	out := loggedModelJSON{Info: loggedModelInfoJSON{ModelID: m.ID, ExperimentID: strconv.FormatInt(m.ExperimentID, 10), Name: m.Name,
		CreationTimestampMs: m.CreationTimestamp, LastUpdatedTimestampMs: m.LastUpdatedTimestamp, ArtifactURI: m.ArtifactLocation,
		Status: m.Status, ModelType: m.ModelType, SourceRunID: m.SourceRunID, StatusMessage: m.StatusMessage, Tags: toKVs(m.Tags)}}
	for _, reg := range m.Registrations {
		out.Info.Registrations = append(out.Info.Registrations, registrationJSON{Name: reg.Name, Version: strconv.FormatInt(reg.Version, 10)})
	}
	out.Data.Params = toKVs(m.Params)
	for _, lm := range m.Metrics {
		j := toMetric(lm.Metric)
		j.ModelID, j.RunID, j.DatasetName, j.DatasetDigest = m.ID, lm.RunID, lm.DatasetName, lm.DatasetDigest
		out.Data.Metrics = append(out.Data.Metrics, j)
	}
	return out
}

// ownsModel refuses a run-scoped token's write to a model that its run did not log.
func (r *request) ownsModel(tx *store.Tx, id string) error {
	if r.run == "" {
		return nil
	}
	m, err := tx.LoggedModel(r.Context(), r.tenant, id)
	if err != nil {
		return err
	}
	return r.mayWrite(m.SourceRunID)
}

func (h *Handler) loggedModelReply(r *request, action string, fn func(tx *store.Tx) (store.LoggedModel, error)) (any, error) {
	var m store.LoggedModel
	err := h.writeTarget(r, action, func(tx *store.Tx) (string, error) {
		var err error
		m, err = fn(tx)
		return "logged-model/" + m.ID, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": toLoggedModel(m)}, nil
}

func (h *Handler) createLoggedModel(r *request) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		Name         string `json:"name"`
		ModelType    string `json:"model_type"`
		SourceRunID  string `json:"source_run_id"`
		Params       []kv   `json:"params"`
		Tags         []kv   `json:"tags"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	exp, err := experimentID(in.ExperimentID)
	if err != nil {
		return nil, err
	}
	if r.run != "" {
		if in.SourceRunID == "" {
			return nil, invalid("this token may log a model only from run %s: set source_run_id", r.run)
		}
		if err := r.mayWrite(in.SourceRunID); err != nil {
			return nil, err
		}
	}
	return h.loggedModelReply(r, "createLoggedModel", func(tx *store.Tx) (store.LoggedModel, error) {
		return tx.CreateLoggedModel(r.Context(), store.LoggedModel{Tenant: r.tenant, ExperimentID: exp, Name: in.Name, ModelType: in.ModelType,
			SourceRunID: in.SourceRunID, Creator: r.user.Name, Params: fromKVs(in.Params), Tags: fromKVs(in.Tags)})
	})
}

func (h *Handler) getLoggedModel(r *request) (any, error) {
	id, _ := modelPathParams(r)
	var m store.LoggedModel
	err := h.read(r, func(tx *store.Tx) (err error) {
		m, err = tx.LoggedModel(r.Context(), r.tenant, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": toLoggedModel(m)}, nil
}

// enumName is a proto enum in JSON: its name as a string, or its number.
type enumName string

func (e *enumName) UnmarshalJSON(b []byte) error {
	*e = enumName(bytes.Trim(b, `"`))
	return nil
}

func (h *Handler) finalizeLoggedModel(r *request) (any, error) {
	id, _ := modelPathParams(r)
	var in struct {
		Status enumName `json:"status"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Status == "" {
		return nil, missing("status")
	}
	st, ok := store.LoggedModelStatus(string(in.Status))
	if !ok || st == store.LoggedModelPending {
		return nil, invalid("status %q is not LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED", in.Status)
	}
	return h.loggedModelReply(r, "", func(tx *store.Tx) (store.LoggedModel, error) {
		if err := r.ownsModel(tx, id); err != nil {
			return store.LoggedModel{}, err
		}
		return tx.FinalizeLoggedModel(r.Context(), r.tenant, id, st)
	})
}

func (h *Handler) deleteLoggedModel(r *request) (any, error) {
	id, _ := modelPathParams(r)
	return struct{}{}, h.write(r, "deleteLoggedModel", "logged-model/"+id, func(tx *store.Tx) error {
		return tx.DeleteLoggedModel(r.Context(), r.tenant, id)
	})
}

func (h *Handler) setLoggedModelTags(r *request) (any, error) {
	id, _ := modelPathParams(r)
	var in struct {
		Tags []kv `json:"tags"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	return h.loggedModelReply(r, "", func(tx *store.Tx) (store.LoggedModel, error) {
		if err := r.ownsModel(tx, id); err != nil {
			return store.LoggedModel{}, err
		}
		return tx.SetLoggedModelTags(r.Context(), r.tenant, id, fromKVs(in.Tags))
	})
}

func (h *Handler) deleteLoggedModelTag(r *request) (any, error) {
	id, sub := modelPathParams(r)
	key := strings.TrimPrefix(sub, "tags/")
	return struct{}{}, h.write(r, "", "", func(tx *store.Tx) error {
		if err := r.ownsModel(tx, id); err != nil {
			return err
		}
		return tx.DeleteLoggedModelTag(r.Context(), r.tenant, id, key)
	})
}

func (h *Handler) logLoggedModelParams(r *request) (any, error) {
	id, _ := modelPathParams(r)
	var in struct {
		Params []kv `json:"params"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	return struct{}{}, h.write(r, "", "", func(tx *store.Tx) error {
		if err := r.ownsModel(tx, id); err != nil {
			return err
		}
		return tx.LogLoggedModelParams(r.Context(), r.tenant, id, fromKVs(in.Params))
	})
}

var loggedModelIdents = idents{
	prefixes: map[string]string{
		"metric": store.FilterMetric, "metrics": store.FilterMetric,
		"param": store.FilterParam, "params": store.FilterParam,
		"tag": store.FilterTag, "tags": store.FilterTag,
		"attribute": store.FilterAttribute, "attributes": store.FilterAttribute,
	},
	aliases: map[string]string{"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
	numeric: func(kind, key string) bool {
		n, _ := store.LoggedModelAttributeIsNumeric(key)
		return kind == store.FilterMetric || (kind == store.FilterAttribute && n)
	},
}

// datasetIn names a dataset of a logged model's metrics (SearchLoggedModels.Dataset).
type datasetIn struct {
	DatasetName   string `json:"dataset_name"`
	DatasetDigest string `json:"dataset_digest"`
}

func (h *Handler) searchLoggedModels(r *request) (any, error) {
	var in struct {
		ExperimentIDs jStrs       `json:"experiment_ids"`
		Filter        string      `json:"filter"`
		Datasets      []datasetIn `json:"datasets"`
		MaxResults    jInt        `json:"max_results"`
		OrderBy       []struct {
			FieldName     string `json:"field_name"`
			Ascending     *bool  `json:"ascending"`
			DatasetName   string `json:"dataset_name"`
			DatasetDigest string `json:"dataset_digest"`
		} `json:"order_by"`
		PageToken string `json:"page_token"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	n, err := limit(in.MaxResults, 50, 1000)
	if err != nil {
		return nil, err
	}
	off, err := parsePageToken(in.PageToken)
	if err != nil {
		return nil, err
	}
	q := store.LoggedModelQuery{Tenant: r.tenant, Offset: off, Limit: n + 1}
	if len(in.Datasets) > store.MaxSearchDatasets {
		return nil, invalid("datasets: at most %d, not %d", store.MaxSearchDatasets, len(in.Datasets))
	}
	for i, d := range in.Datasets {
		if d.DatasetName == "" {
			return nil, missing(fmt.Sprintf("datasets[%d].dataset_name", i))
		}
		q.Datasets = append(q.Datasets, store.DatasetRef{Name: d.DatasetName, Digest: d.DatasetDigest})
	}
	if q.Filters, err = parseFilter(in.Filter, loggedModelIdents); err != nil {
		return nil, err
	}
	for i, o := range in.OrderBy {
		if o.FieldName == "" {
			return nil, missing(fmt.Sprintf("order_by[%d].field_name", i))
		}
		kind, key, err := loggedModelIdents.ident(strings.TrimSpace(o.FieldName))
		if err != nil {
			return nil, err
		}
		if kind != store.FilterMetric && (o.DatasetName != "" || o.DatasetDigest != "") {
			return nil, invalid("order_by[%d].dataset_name: only an order by a metric takes a dataset, not %s", i, o.FieldName)
		}
		if o.DatasetDigest != "" && o.DatasetName == "" {
			return nil, invalid("order_by[%d].dataset_digest is set without order_by[%d].dataset_name", i, i)
		}
		q.Orders = append(q.Orders, store.Order{Kind: kind, Key: key, Desc: o.Ascending != nil && !*o.Ascending,
			Dataset: store.DatasetRef{Name: o.DatasetName, Digest: o.DatasetDigest}})
	}
	for _, s := range in.ExperimentIDs {
		id, err := experimentID(s)
		if err != nil {
			return nil, err
		}
		q.ExperimentIDs = append(q.ExperimentIDs, id)
	}
	var ms []store.LoggedModel
	err = h.read(r, func(tx *store.Tx) (err error) {
		ms, err = tx.SearchLoggedModels(r.Context(), q)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := struct {
		Models        []loggedModelJSON `json:"models"`
		NextPageToken string            `json:"next_page_token,omitempty"`
	}{Models: []loggedModelJSON{}}
	if len(ms) > n {
		ms, out.NextPageToken = ms[:n], pageToken(off+n)
	}
	for _, m := range ms {
		out.Models = append(out.Models, toLoggedModel(m))
	}
	return out, nil
}

// modelArtifactRef is a path of a logged model's tree as the proxy knows it.
func (h *Handler) modelArtifactRef(r *request, id, rel string, dir bool) (artifactRef, store.LoggedModel, error) {
	var m store.LoggedModel
	err := h.read(r, func(tx *store.Tx) (err error) {
		m, err = tx.LoggedModel(r.Context(), r.tenant, id)
		return err
	})
	if err != nil {
		return artifactRef{}, m, err
	}
	p := strconv.FormatInt(m.ExperimentID, 10) + "/models/" + id + "/artifacts"
	if rel = strings.Trim(rel, "/"); rel != "" {
		p += "/" + rel
	}
	ref, err := parseArtifactPath(p, dir)
	return ref, m, err
}

// listLoggedModelArtifacts is ListLoggedModelArtifacts: the direct children
// of a directory of the model's tree, by paths relative to its root.
func (h *Handler) listLoggedModelArtifacts(r *request) (any, error) {
	id, _ := modelPathParams(r)
	var in struct {
		Dir       string `json:"artifact_directory_path"`
		PageToken string `json:"page_token"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	ref, m, err := h.modelArtifactRef(r, id, in.Dir, true)
	if err != nil {
		return nil, err
	}
	var es []store.ArtifactEntry
	err = h.read(r, func(tx *store.Tx) (err error) {
		es, err = tx.ListArtifacts(r.Context(), r.tenant, ref.tree, ref.rel)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"root_uri": m.ArtifactLocation, "files": toFiles(es, func(s string) string { return s })}, nil
}

// getLoggedModelArtifact streams one file of a model's tree (the MLflow
// UI's logged-models/{id}/artifacts/files?artifact_file_path=...).
func (h *Handler) getLoggedModelArtifact(r *request) (any, error) {
	id, _ := modelPathParams(r)
	p := r.URL.Query().Get("artifact_file_path")
	if p == "" {
		return nil, missing("artifact_file_path")
	}
	ref, _, err := h.modelArtifactRef(r, id, p, false)
	if err != nil {
		return nil, err
	}
	return nil, h.download(r, ref)
}

// logOutputs is LogOutputs (runs/outputs): the models a run produced.
func (h *Handler) logOutputs(r *request) (any, error) {
	var in struct {
		RunID  string `json:"run_id"`
		Models []struct {
			ModelID string `json:"model_id"`
			Step    jInt   `json:"step"`
		} `json:"models"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.RunID == "" {
		return nil, missing("run_id")
	}
	if err := r.mayWrite(in.RunID); err != nil {
		return nil, err
	}
	outs := make([]store.ModelOutput, 0, len(in.Models))
	for _, m := range in.Models {
		if m.ModelID == "" {
			return nil, missing("models.model_id")
		}
		outs = append(outs, store.ModelOutput{ModelID: m.ModelID, Step: m.Step.V})
	}
	return struct{}{}, h.write(r, "", "", func(tx *store.Tx) error {
		return tx.LogRunOutputs(r.Context(), r.tenant, in.RunID, outs)
	})
}
