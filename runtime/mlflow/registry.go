package mlflow

import (
	"net/http"
	"strconv"

	"github.com/ferry-ml/ferry/store"
)

type aliasJSON struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type versionJSON struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	CreationTimestamp    int64    `json:"creation_timestamp"`
	LastUpdatedTimestamp int64    `json:"last_updated_timestamp"`
	UserID               string   `json:"user_id,omitempty"`
	CurrentStage         string   `json:"current_stage"`
	Description          string   `json:"description,omitempty"`
	Source               string   `json:"source"`
	RunID                string   `json:"run_id,omitempty"`
	ModelID              string   `json:"model_id,omitempty"`
	Status               string   `json:"status"`
	StatusMessage        string   `json:"status_message,omitempty"`
	Tags                 []kv     `json:"tags,omitempty"`
	RunLink              string   `json:"run_link,omitempty"`
	Aliases              []string `json:"aliases,omitempty"`
}

type modelJSON struct {
	Name                 string        `json:"name"`
	CreationTimestamp    int64         `json:"creation_timestamp"`
	LastUpdatedTimestamp int64         `json:"last_updated_timestamp"`
	UserID               string        `json:"user_id,omitempty"`
	Description          string        `json:"description,omitempty"`
	LatestVersions       []versionJSON `json:"latest_versions,omitempty"`
	Tags                 []kv          `json:"tags,omitempty"`
	Aliases              []aliasJSON   `json:"aliases,omitempty"`
}

func toVersion(v store.ModelVersion) versionJSON {
	out := versionJSON{Name: v.Name, Version: strconv.FormatInt(v.Version, 10), CreationTimestamp: v.CreationTimestamp,
		LastUpdatedTimestamp: v.LastUpdatedTimestamp, UserID: v.UserID, CurrentStage: v.CurrentStage, Description: v.Description,
		Source: v.Source, RunID: v.RunID, ModelID: v.ModelID, Status: v.Status, StatusMessage: v.StatusMessage, Tags: toKVs(v.Tags), RunLink: v.RunLink}
	if len(v.Aliases) > 0 {
		out.Aliases = v.Aliases
	}
	return out
}

func toModel(m store.RegisteredModel) modelJSON {
	out := modelJSON{Name: m.Name, CreationTimestamp: m.CreationTimestamp, LastUpdatedTimestamp: m.LastUpdatedTimestamp,
		UserID: m.UserID, Description: m.Description, Tags: toKVs(m.Tags)}
	for _, v := range m.LatestVersions {
		out.LatestVersions = append(out.LatestVersions, toVersion(v))
	}
	for _, a := range m.Aliases {
		out.Aliases = append(out.Aliases, aliasJSON{Alias: a.Alias, Version: strconv.FormatInt(a.Version, 10)})
	}
	return out
}

func versionNumber(s string) (int64, error) {
	if s == "" {
		return 0, missing("version")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, invalid("model version %q is not a version number", s)
	}
	return v, nil
}

type modelRef struct {
	Name string `json:"name"`
}

func (h *Handler) modelReply(r *request, action, name string, fn func(tx *store.Tx) (store.RegisteredModel, error)) (any, error) {
	var m store.RegisteredModel
	err := h.write(r, action, "registered-model/"+name, func(tx *store.Tx) error {
		var err error
		m, err = fn(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": toModel(m)}, nil
}

func (h *Handler) createModel(r *request) (any, error) {
	var in struct {
		Name        string `json:"name"`
		Tags        []kv   `json:"tags"`
		Description string `json:"description"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	return h.modelReply(r, "createRegisteredModel", in.Name, func(tx *store.Tx) (store.RegisteredModel, error) {
		return tx.CreateRegisteredModel(r.Context(), store.RegisteredModel{Tenant: r.tenant, Name: in.Name, Description: in.Description, UserID: r.user.Name, Tags: fromKVs(in.Tags)})
	})
}

func (h *Handler) getModel(r *request) (any, error) {
	var in modelRef
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	var m store.RegisteredModel
	err := h.read(r, func(tx *store.Tx) error {
		var err error
		m, err = tx.RegisteredModel(r.Context(), r.tenant, in.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": toModel(m)}, nil
}

// searchIn is the paging, filter and order every MLflow search takes.
type searchIn struct {
	Filter     string `json:"filter"`
	MaxResults jInt   `json:"max_results"`
	OrderBy    jStrs  `json:"order_by"`
	PageToken  string `json:"page_token"`
}

// search is a searchIn parsed against one kind's identifiers.
type search struct {
	n, off  int
	filters []store.Filter
	orders  []store.Order
}

func (in searchIn) parse(ids idents, def, most int64) (search, error) {
	n, err := limit(in.MaxResults, def, most)
	if err != nil {
		return search{}, err
	}
	off, err := parsePageToken(in.PageToken)
	if err != nil {
		return search{}, err
	}
	filters, err := parseFilter(in.Filter, ids)
	if err != nil {
		return search{}, err
	}
	orders, err := parseOrders(in.OrderBy, ids)
	if err != nil {
		return search{}, err
	}
	return search{n: n, off: off, filters: filters, orders: orders}, nil
}

func (in searchIn) query(tenant string, def, most int64) (store.ModelQuery, int, error) {
	q, err := in.parse(modelIdents, def, most)
	if err != nil {
		return store.ModelQuery{}, 0, err
	}
	return store.ModelQuery{Tenant: tenant, Filters: q.filters, Orders: q.orders, Offset: q.off, Limit: q.n + 1}, q.n, nil
}

func (h *Handler) searchModels(r *request) (any, error) {
	var in searchIn
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	q, n, err := in.query(r.tenant, 100, 1000)
	if err != nil {
		return nil, err
	}
	var ms []store.RegisteredModel
	err = h.read(r, func(tx *store.Tx) error {
		ms, err = tx.SearchRegisteredModels(r.Context(), q)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := struct {
		RegisteredModels []modelJSON `json:"registered_models"`
		NextPageToken    string      `json:"next_page_token,omitempty"`
	}{RegisteredModels: []modelJSON{}}
	if len(ms) > n {
		ms, out.NextPageToken = ms[:n], pageToken(q.Offset+n)
	}
	for _, m := range ms {
		out.RegisteredModels = append(out.RegisteredModels, toModel(m))
	}
	return out, nil
}

func (h *Handler) renameModel(r *request) (any, error) {
	var in struct {
		Name    string `json:"name"`
		NewName string `json:"new_name"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	if in.NewName == "" {
		return nil, missing("new_name")
	}
	return h.modelReply(r, "renameRegisteredModel", in.Name, func(tx *store.Tx) (store.RegisteredModel, error) {
		return tx.RenameRegisteredModel(r.Context(), r.tenant, in.Name, in.NewName)
	})
}

func (h *Handler) updateModel(r *request) (any, error) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	return h.modelReply(r, "updateRegisteredModel", in.Name, func(tx *store.Tx) (store.RegisteredModel, error) {
		return tx.UpdateRegisteredModel(r.Context(), r.tenant, in.Name, in.Description)
	})
}

func (h *Handler) deleteModel(r *request) (any, error) {
	var in modelRef
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	return struct{}{}, h.write(r, "deleteRegisteredModel", "registered-model/"+in.Name, func(tx *store.Tx) error {
		return tx.DeleteRegisteredModel(r.Context(), r.tenant, in.Name)
	})
}

func (h *Handler) latestVersions(r *request) (any, error) {
	var in struct {
		Name   string `json:"name"`
		Stages jStrs  `json:"stages"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	var vs []store.ModelVersion
	err := h.read(r, func(tx *store.Tx) error {
		if _, err := tx.RegisteredModel(r.Context(), r.tenant, in.Name); err != nil {
			return err
		}
		var err error
		vs, err = tx.LatestVersions(r.Context(), r.tenant, in.Name, in.Stages)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []versionJSON{}
	for _, v := range vs {
		out = append(out, toVersion(v))
	}
	return map[string]any{"model_versions": out}, nil
}

func (h *Handler) setModelTag(r *request) (any, error) {
	var in struct {
		Name string `json:"name"`
		kv
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" || in.Key == "" {
		return nil, missing(map[bool]string{true: "name", false: "key"}[in.Name == ""])
	}
	return struct{}{}, h.write(r, "setRegisteredModelTag", "registered-model/"+in.Name, func(tx *store.Tx) error {
		return tx.SetRegisteredModelTag(r.Context(), r.tenant, in.Name, in.Key, in.Value)
	})
}

func (h *Handler) deleteModelTag(r *request) (any, error) {
	var in struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" || in.Key == "" {
		return nil, missing(map[bool]string{true: "name", false: "key"}[in.Name == ""])
	}
	return struct{}{}, h.write(r, "deleteRegisteredModelTag", "registered-model/"+in.Name, func(tx *store.Tx) error {
		return tx.DeleteRegisteredModelTag(r.Context(), r.tenant, in.Name, in.Key)
	})
}

// alias is POST (set), DELETE (delete) and GET (resolve) /registered-models/alias.
func (h *Handler) alias(r *request) (any, error) {
	var in struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version"`
	}
	if r.Method != http.MethodGet && !r.role.AtLeast(store.RoleEditor) {
		return nil, &apiError{Status: http.StatusForbidden, Code: "PERMISSION_DENIED", Msg: "role " + string(r.role) + " may not change aliases; it needs editor"}
	}
	if r.Method != http.MethodGet && r.run != "" {
		return nil, &apiError{Status: http.StatusForbidden, Code: "PERMISSION_DENIED", Msg: "this token may write only to run " + r.run + "; it may not move aliases"}
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	if in.Alias == "" {
		return nil, missing("alias")
	}
	target := "registered-model/" + in.Name + "@" + in.Alias
	switch r.Method {
	case http.MethodPost:
		v, err := versionNumber(in.Version)
		if err != nil {
			return nil, err
		}
		return struct{}{}, h.write(r, "setRegisteredModelAlias", target, func(tx *store.Tx) error {
			return tx.SetModelAlias(r.Context(), r.tenant, in.Name, in.Alias, v)
		})
	case http.MethodDelete:
		return struct{}{}, h.write(r, "deleteRegisteredModelAlias", target, func(tx *store.Tx) error {
			return tx.DeleteModelAlias(r.Context(), r.tenant, in.Name, in.Alias)
		})
	}
	var v store.ModelVersion
	err := h.read(r, func(tx *store.Tx) error {
		var err error
		v, err = tx.ModelVersionByAlias(r.Context(), r.tenant, in.Name, in.Alias)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": toVersion(v)}, nil
}
