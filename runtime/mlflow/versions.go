package mlflow

import (
	"strconv"
	"strings"

	"github.com/ferry-ml/ferry/store"
)

type versionRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

func (v versionRef) parse() (string, int64, error) {
	if v.Name == "" {
		return "", 0, missing("name")
	}
	n, err := versionNumber(v.Version)
	return v.Name, n, err
}

func (h *Handler) versionReply(r *request, action, target string, fn func(tx *store.Tx) (store.ModelVersion, error)) (any, error) {
	var v store.ModelVersion
	err := h.writeTarget(r, action, func(tx *store.Tx) (string, error) {
		var err error
		v, err = fn(tx)
		return target + "/" + v.Name + "/" + strconv.FormatInt(v.Version, 10), err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": toVersion(v)}, nil
}

func (h *Handler) createVersion(r *request) (any, error) {
	var in struct {
		Name        string `json:"name"`
		Source      string `json:"source"`
		RunID       string `json:"run_id"`
		Tags        []kv   `json:"tags"`
		RunLink     string `json:"run_link"`
		Description string `json:"description"`
		ModelID     string `json:"model_id"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, missing("name")
	}
	if in.Source == "" {
		return nil, missing("source")
	}
	if in.ModelID == "" {
		in.ModelID = loggedModelOfSource(in.Source)
	}
	if r.run != "" {
		switch {
		case in.RunID != "":
			if err := r.mayWrite(in.RunID); err != nil {
				return nil, err
			}
		case in.ModelID == "":
			return nil, invalid("this token may register a version only from run %s: set run_id, or model_id of a model the run logged", r.run)
		}
	}
	return h.versionReply(r, "createModelVersion", "model-version", func(tx *store.Tx) (store.ModelVersion, error) {
		if in.ModelID != "" {
			// A run token may register only models its run logged.
			if err := r.ownsModel(tx, in.ModelID); err != nil {
				return store.ModelVersion{}, err
			}
		}
		return tx.CreateModelVersion(r.Context(), store.ModelVersion{Tenant: r.tenant, Name: in.Name, Source: in.Source, RunID: in.RunID,
			ModelID: in.ModelID, RunLink: in.RunLink, Description: in.Description, UserID: r.user.Name, Tags: fromKVs(in.Tags)})
	})
}

func (h *Handler) getVersion(r *request) (any, error) {
	var in versionRef
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	name, n, err := in.parse()
	if err != nil {
		return nil, err
	}
	var v store.ModelVersion
	err = h.read(r, func(tx *store.Tx) error {
		v, err = tx.ModelVersion(r.Context(), r.tenant, name, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": toVersion(v)}, nil
}

func (h *Handler) searchVersions(r *request) (any, error) {
	var in searchIn
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	q, n, err := in.query(r.tenant, 10000, 200000)
	if err != nil {
		return nil, err
	}
	var vs []store.ModelVersion
	err = h.read(r, func(tx *store.Tx) error {
		vs, err = tx.SearchModelVersions(r.Context(), q)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := struct {
		ModelVersions []versionJSON `json:"model_versions"`
		NextPageToken string        `json:"next_page_token,omitempty"`
	}{ModelVersions: []versionJSON{}}
	if len(vs) > n {
		vs, out.NextPageToken = vs[:n], pageToken(q.Offset+n)
	}
	for _, v := range vs {
		out.ModelVersions = append(out.ModelVersions, toVersion(v))
	}
	return out, nil
}

func (h *Handler) updateVersion(r *request) (any, error) {
	var in struct {
		versionRef
		Description string `json:"description"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	name, n, err := in.parse()
	if err != nil {
		return nil, err
	}
	return h.versionReply(r, "updateModelVersion", "model-version", func(tx *store.Tx) (store.ModelVersion, error) {
		return tx.UpdateModelVersion(r.Context(), r.tenant, name, n, in.Description)
	})
}

func (h *Handler) deleteVersion(r *request) (any, error) {
	var in versionRef
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	name, n, err := in.parse()
	if err != nil {
		return nil, err
	}
	return struct{}{}, h.write(r, "deleteModelVersion", "model-version/"+name+"/"+in.Version, func(tx *store.Tx) error {
		return tx.DeleteModelVersion(r.Context(), r.tenant, name, n)
	})
}

func (h *Handler) setVersionTag(r *request) (any, error) {
	var in struct {
		versionRef
		kv
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	name, n, err := in.parse()
	if err != nil {
		return nil, err
	}
	if in.Key == "" {
		return nil, missing("key")
	}
	return struct{}{}, h.write(r, "setModelVersionTag", "model-version/"+name+"/"+in.Version, func(tx *store.Tx) error {
		return tx.SetModelVersionTag(r.Context(), r.tenant, name, n, in.Key, in.Value)
	})
}

func (h *Handler) deleteVersionTag(r *request) (any, error) {
	var in struct {
		versionRef
		Key string `json:"key"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	name, n, err := in.parse()
	if err != nil {
		return nil, err
	}
	if in.Key == "" {
		return nil, missing("key")
	}
	return struct{}{}, h.write(r, "deleteModelVersionTag", "model-version/"+name+"/"+in.Version, func(tx *store.Tx) error {
		return tx.DeleteModelVersionTag(r.Context(), r.tenant, name, n, in.Key)
	})
}

// loggedModelOfSource is the model id of a models:/<model_id> source (MLflow
// 3's form for a logged model), else "". models:/<name>/<version> is not one.
func loggedModelOfSource(source string) string {
	id, ok := strings.CutPrefix(source, "models:/")
	if !ok || len(id) != 34 || !strings.HasPrefix(id, "m-") {
		return ""
	}
	return id
}

// downloadURI is where the version's files are: its source. A runs:/<id>/path
// source is resolved to the run's artifact URI, as MLflow does, and a version
// made from a logged model is the model's artifact location.
func (h *Handler) downloadURI(r *request) (any, error) {
	var in versionRef
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	name, n, err := in.parse()
	if err != nil {
		return nil, err
	}
	var uri string
	err = h.read(r, func(tx *store.Tx) error {
		v, err := tx.ModelVersion(r.Context(), r.tenant, name, n)
		if err != nil {
			return err
		}
		uri = v.Source
		if v.ModelID != "" {
			m, err := tx.LoggedModel(r.Context(), r.tenant, v.ModelID)
			if err != nil {
				return err
			}
			uri = m.ArtifactLocation
		} else if rest, ok := strings.CutPrefix(v.Source, "runs:/"); ok {
			runID, path, _ := strings.Cut(rest, "/")
			info, err := tx.RunInfo(r.Context(), r.tenant, runID)
			if err != nil {
				return err
			}
			uri = strings.TrimSuffix(info.ArtifactURI+"/"+path, "/")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"artifact_uri": uri}, nil
}
