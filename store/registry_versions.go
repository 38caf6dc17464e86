package store

import (
	"context"
	"fmt"
	"strconv"
)

func versionNotFound(name string, version int64) error {
	return fmt.Errorf("%w: model version (name=%s, version=%d)", ErrNotFound, name, version)
}

// CreateModelVersion adds the next version of a model (status READY). A run
// id, when given, must be a run of the same tenant (the version's lineage).
func (tx *Tx) CreateModelVersion(ctx context.Context, v ModelVersion) (ModelVersion, error) {
	if v.Source == "" {
		return ModelVersion{}, invalidf("model version source is empty")
	}
	if len(v.Source) > MaxSource {
		return ModelVersion{}, invalidf("model version source is longer than %d characters", MaxSource)
	}
	if len(v.Description) > MaxDescription {
		return ModelVersion{}, invalidf("description is longer than %d characters", MaxDescription)
	}
	for _, t := range v.Tags {
		if err := validTag(t.Key, t.Value); err != nil {
			return ModelVersion{}, err
		}
	}
	if v.ModelID != "" {
		// MLflow 3: the version's files are the logged model's, and its
		// lineage the model's source run unless a run is named.
		m, err := tx.loggedModelRow(ctx, v.Tenant, v.ModelID, false)
		if err != nil {
			return ModelVersion{}, err
		}
		if v.RunID == "" {
			v.RunID = m.SourceRunID
		}
	}
	if v.RunID != "" {
		if _, err := tx.runInfo(ctx, v.Tenant, v.RunID); err != nil {
			return ModelVersion{}, invalidf("run %s of the model version: %v", v.RunID, err)
		}
	}
	if err := tx.touchModel(ctx, v.Tenant, v.Name); err != nil {
		return ModelVersion{}, err
	}
	if err := tx.tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE tenant = ? AND name = ?", v.Tenant, v.Name).Scan(&v.Version); err != nil {
		return ModelVersion{}, err
	}
	ms := tx.now.UnixMilli()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO model_versions (tenant, name, version, source, run_id, model_id, run_link, status, current_stage, description, user_id, creation_timestamp, last_updated_timestamp)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'READY', 'None', ?, ?, ?, ?)`, v.Tenant, v.Name, v.Version, v.Source, v.RunID, v.ModelID, v.RunLink, v.Description, v.UserID, ms, ms)
	if err != nil {
		return ModelVersion{}, mapErr(err)
	}
	for _, t := range v.Tags {
		if err := tx.SetModelVersionTag(ctx, v.Tenant, v.Name, v.Version, t.Key, t.Value); err != nil {
			return ModelVersion{}, err
		}
	}
	return tx.ModelVersion(ctx, v.Tenant, v.Name, v.Version)
}

const versionCols = "tenant, name, version, source, run_id, model_id, run_link, status, status_message, current_stage, description, user_id, creation_timestamp, last_updated_timestamp"

// ModelVersion reads one version with its tags and aliases.
func (tx *Tx) ModelVersion(ctx context.Context, tenant, name string, version int64) (ModelVersion, error) {
	vs, err := tx.versions(ctx, "tenant = ? AND name = ? AND version = ?", tenant, name, version)
	if err != nil {
		return ModelVersion{}, err
	}
	if len(vs) == 0 {
		if _, err := tx.RegisteredModel(ctx, tenant, name); err != nil {
			return ModelVersion{}, err
		}
		return ModelVersion{}, versionNotFound(name, version)
	}
	return vs[0], nil
}

// LatestVersions is the newest version of each stage of a model, or of the
// given stages only.
func (tx *Tx) LatestVersions(ctx context.Context, tenant, name string, stages []string) ([]ModelVersion, error) {
	vs, err := tx.versions(ctx, `tenant = ? AND name = ? AND version IN (SELECT max(version) FROM model_versions
		WHERE tenant = ? AND name = ? GROUP BY current_stage) ORDER BY version`, tenant, name, tenant, name)
	if err != nil || len(stages) == 0 {
		return vs, err
	}
	want := map[string]bool{}
	for _, s := range stages {
		want[s] = true
	}
	out := []ModelVersion{}
	for _, v := range vs {
		if want[v.CurrentStage] {
			out = append(out, v)
		}
	}
	return out, nil
}

// SearchModelVersions lists versions, newest first unless ordered otherwise.
func (tx *Tx) SearchModelVersions(ctx context.Context, q ModelQuery) ([]ModelVersion, error) {
	where, args, err := modelWhere(q, "model_versions", map[string]string{"name": "name", "run_id": "run_id", "source_path": "source"})
	if err != nil {
		return nil, err
	}
	order, err := modelOrder(q, map[string]string{"name": "name", "version_number": "version", "creation_timestamp": "creation_timestamp", "last_updated_timestamp": "last_updated_timestamp"}, "name ASC, version DESC")
	if err != nil {
		return nil, err
	}
	return tx.versions(ctx, where+" ORDER BY "+order+" LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
}

// UpdateModelVersion sets a version's description.
func (tx *Tx) UpdateModelVersion(ctx context.Context, tenant, name string, version int64, description string) (ModelVersion, error) {
	if len(description) > MaxDescription {
		return ModelVersion{}, invalidf("description is longer than %d characters", MaxDescription)
	}
	if err := tx.touchVersion(ctx, tenant, name, version); err != nil {
		return ModelVersion{}, err
	}
	if _, err := tx.tx.ExecContext(ctx, "UPDATE model_versions SET description = ? WHERE tenant = ? AND name = ? AND version = ?", description, tenant, name, version); err != nil {
		return ModelVersion{}, mapErr(err)
	}
	return tx.ModelVersion(ctx, tenant, name, version)
}

func (tx *Tx) touchVersion(ctx context.Context, tenant, name string, version int64) error {
	res, err := tx.tx.ExecContext(ctx, "UPDATE model_versions SET last_updated_timestamp = ? WHERE tenant = ? AND name = ? AND version = ?", tx.now.UnixMilli(), tenant, name, version)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.RegisteredModel(ctx, tenant, name); err != nil {
			return err
		}
		return versionNotFound(name, version)
	}
	return tx.touchModel(ctx, tenant, name)
}

// DeleteModelVersion removes a version with its tags and aliases.
func (tx *Tx) DeleteModelVersion(ctx context.Context, tenant, name string, version int64) error {
	if err := tx.touchVersion(ctx, tenant, name, version); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, "DELETE FROM model_versions WHERE tenant = ? AND name = ? AND version = ?", tenant, name, version)
	return mapErr(err)
}

// SetModelVersionTag sets one tag of a version.
func (tx *Tx) SetModelVersionTag(ctx context.Context, tenant, name string, version int64, key, value string) error {
	if err := validTag(key, value); err != nil {
		return err
	}
	if err := tx.touchVersion(ctx, tenant, name, version); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO model_version_tags (tenant, name, version, key, value) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant, name, version, key) DO UPDATE SET value = excluded.value`, tenant, name, version, key, value)
	return mapErr(err)
}

// DeleteModelVersionTag removes one tag of a version.
func (tx *Tx) DeleteModelVersionTag(ctx context.Context, tenant, name string, version int64, key string) error {
	if err := tx.touchVersion(ctx, tenant, name, version); err != nil {
		return err
	}
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM model_version_tags WHERE tenant = ? AND name = ? AND version = ? AND key = ?", tenant, name, version, key)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no tag %q on model version (name=%s, version=%d)", ErrNotFound, key, name, version)
	}
	return nil
}

// SetModelAlias points alias at a version of the model (moving it if it pointed elsewhere).
func (tx *Tx) SetModelAlias(ctx context.Context, tenant, name, alias string, version int64) error {
	if alias == "" || len(alias) > MaxModelName {
		return invalidf("alias must be 1 to %d characters", MaxModelName)
	}
	if alias == "latest" || (len(alias) > 1 && (alias[0] == 'v' || alias[0] == 'V') && isDigits(alias[1:])) {
		return invalidf("alias %q is reserved", alias)
	}
	if err := tx.touchVersion(ctx, tenant, name, version); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO model_aliases (tenant, name, alias, version) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant, name, alias) DO UPDATE SET version = excluded.version`, tenant, name, alias, version)
	return mapErr(err)
}

func isDigits(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// DeleteModelAlias removes an alias of a model.
func (tx *Tx) DeleteModelAlias(ctx context.Context, tenant, name, alias string) error {
	if err := tx.touchModel(ctx, tenant, name); err != nil {
		return err
	}
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM model_aliases WHERE tenant = ? AND name = ? AND alias = ?", tenant, name, alias)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: registered model alias %s of %q", ErrNotFound, alias, name)
	}
	return nil
}

// ModelVersionByAlias resolves name@alias.
func (tx *Tx) ModelVersionByAlias(ctx context.Context, tenant, name, alias string) (ModelVersion, error) {
	var v int64
	err := tx.tx.QueryRowContext(ctx, "SELECT version FROM model_aliases WHERE tenant = ? AND name = ? AND alias = ?", tenant, name, alias).Scan(&v)
	if mapErr(err) == ErrNotFound {
		if _, err := tx.RegisteredModel(ctx, tenant, name); err != nil {
			return ModelVersion{}, err
		}
		return ModelVersion{}, fmt.Errorf("%w: registered model alias %s of %q", ErrNotFound, alias, name)
	}
	if err != nil {
		return ModelVersion{}, err
	}
	return tx.ModelVersion(ctx, tenant, name, v)
}

func (tx *Tx) versions(ctx context.Context, where string, args ...any) ([]ModelVersion, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+versionCols+" FROM model_versions WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	out := []ModelVersion{}
	for rows.Next() {
		var v ModelVersion
		if err := rows.Scan(&v.Tenant, &v.Name, &v.Version, &v.Source, &v.RunID, &v.ModelID, &v.RunLink, &v.Status, &v.StatusMessage, &v.CurrentStage,
			&v.Description, &v.UserID, &v.CreationTimestamp, &v.LastUpdatedTimestamp); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	if err := errJoinClose(rows); err != nil {
		return nil, err
	}
	for i := range out {
		v := &out[i]
		if v.Tags, err = tx.kvs(ctx, "SELECT key, value FROM model_version_tags WHERE tenant = ? AND name = ? AND version = ? ORDER BY key", v.Tenant, v.Name, v.Version); err != nil {
			return nil, err
		}
		kv, err := tx.kvs(ctx, "SELECT alias, '' FROM model_aliases WHERE tenant = ? AND name = ? AND version = ? ORDER BY alias", v.Tenant, v.Name, v.Version)
		if err != nil {
			return nil, err
		}
		v.Aliases = make([]string, len(kv))
		for j := range kv {
			v.Aliases[j] = kv[j].Key
		}
	}
	return out, nil
}
