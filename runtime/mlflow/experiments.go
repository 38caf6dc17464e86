package mlflow

import (
	"strconv"

	"github.com/ferry-ml/ferry/store"
)

type experimentJSON struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"`
	LifecycleStage   string `json:"lifecycle_stage"`
	LastUpdateTime   int64  `json:"last_update_time"`
	CreationTime     int64  `json:"creation_time"`
	Tags             []kv   `json:"tags,omitempty"`
}

func toExperiment(e store.Experiment) experimentJSON {
	return experimentJSON{ExperimentID: strconv.FormatInt(e.ID, 10), Name: e.Name, ArtifactLocation: e.ArtifactLocation,
		LifecycleStage: e.LifecycleStage, LastUpdateTime: e.LastUpdateTime, CreationTime: e.CreationTime, Tags: toKVs(e.Tags)}
}

func toKVs(in []store.KV) []kv {
	if len(in) == 0 {
		return nil
	}
	out := make([]kv, len(in))
	for i, t := range in {
		out[i] = kv{t.Key, t.Value}
	}
	return out
}

func fromKVs(in []kv) []store.KV {
	out := make([]store.KV, len(in))
	for i, t := range in {
		out[i] = store.KV{Key: t.Key, Value: t.Value}
	}
	return out
}

func experimentID(s string) (int64, error) {
	if s == "" {
		return 0, missing("experiment_id")
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, invalid("experiment_id %q is not an experiment id (a non-negative integer)", s)
	}
	return id, nil
}

func (h *Handler) createExperiment(r *request) (any, error) {
	var in struct {
		Name             string `json:"name"`
		ArtifactLocation string `json:"artifact_location"`
		Tags             []kv   `json:"tags"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	var e store.Experiment
	err := h.write(r, "createExperiment", "experiment/"+in.Name, func(tx *store.Tx) error {
		var err error
		e, err = tx.CreateExperiment(r.Context(), store.Experiment{Tenant: r.tenant, Name: in.Name, ArtifactLocation: in.ArtifactLocation, Tags: fromKVs(in.Tags)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"experiment_id": strconv.FormatInt(e.ID, 10)}, nil
}

func (h *Handler) getExperiment(r *request) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := experimentID(in.ExperimentID)
	if err != nil {
		return nil, err
	}
	var e store.Experiment
	err = h.read(r, func(tx *store.Tx) error {
		e, err = tx.Experiment(r.Context(), r.tenant, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": toExperiment(e)}, nil
}

func (h *Handler) getExperimentByName(r *request) (any, error) {
	var in struct {
		Name string `json:"experiment_name"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("experiment_name")
	}
	var e store.Experiment
	err := h.read(r, func(tx *store.Tx) error {
		var err error
		e, err = tx.ExperimentByName(r.Context(), r.tenant, in.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": toExperiment(e)}, nil
}

func (h *Handler) searchExperiments(r *request) (any, error) {
	var in struct {
		searchIn
		ViewType viewType `json:"view_type"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	q, err := in.parse(experimentIdents, 1000, 50000)
	if err != nil {
		return nil, err
	}
	n, off := q.n, q.off
	var es []store.Experiment
	err = h.read(r, func(tx *store.Tx) error {
		es, err = tx.SearchExperiments(r.Context(), store.ExperimentQuery{Tenant: r.tenant, ViewType: string(in.ViewType), Filters: q.filters, Orders: q.orders, Offset: off, Limit: n + 1})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := struct {
		Experiments   []experimentJSON `json:"experiments"`
		NextPageToken string           `json:"next_page_token,omitempty"`
	}{Experiments: []experimentJSON{}}
	if len(es) > n {
		es, out.NextPageToken = es[:n], pageToken(off+n)
	}
	for _, e := range es {
		out.Experiments = append(out.Experiments, toExperiment(e))
	}
	return out, nil
}

func (h *Handler) updateExperiment(r *request) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		NewName      string `json:"new_name"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := experimentID(in.ExperimentID)
	if err != nil {
		return nil, err
	}
	if in.NewName == "" {
		return struct{}{}, nil
	}
	return struct{}{}, h.write(r, "updateExperiment", "experiment/"+in.ExperimentID, func(tx *store.Tx) error {
		return tx.RenameExperiment(r.Context(), r.tenant, id, in.NewName)
	})
}

func (h *Handler) deleteExperiment(r *request) (any, error) {
	return h.experimentStage(r, store.StageDeleted)
}

func (h *Handler) restoreExperiment(r *request) (any, error) {
	return h.experimentStage(r, store.StageActive)
}

func (h *Handler) experimentStage(r *request, stage string) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := experimentID(in.ExperimentID)
	if err != nil {
		return nil, err
	}
	action := map[string]string{store.StageDeleted: "deleteExperiment", store.StageActive: "restoreExperiment"}[stage]
	return struct{}{}, h.write(r, action, "experiment/"+in.ExperimentID, func(tx *store.Tx) error {
		return tx.SetExperimentStage(r.Context(), r.tenant, id, stage)
	})
}

func (h *Handler) setExperimentTag(r *request) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := experimentID(in.ExperimentID)
	if err != nil {
		return nil, err
	}
	if in.Key == "" {
		return nil, missing("key")
	}
	return struct{}{}, h.write(r, "", "", func(tx *store.Tx) error {
		if _, err := tx.Experiment(r.Context(), r.tenant, id); err != nil {
			return err
		}
		return tx.SetExperimentTag(r.Context(), r.tenant, id, in.Key, in.Value)
	})
}
