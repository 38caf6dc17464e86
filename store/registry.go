package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// RegisteredModel is a named model of a tenant's registry.
type RegisteredModel struct {
	Tenant               string
	Name                 string
	Description          string
	UserID               string
	CreationTimestamp    int64
	LastUpdatedTimestamp int64
	Tags                 []KV
	Aliases              []ModelAlias
	// LatestVersions is the newest version of each stage.
	LatestVersions []ModelVersion
}

// ModelAlias points a name (champion) at a version.
type ModelAlias struct {
	Alias   string
	Version int64
}

// ModelVersion is one numbered version of a registered model.
type ModelVersion struct {
	Tenant               string
	Name                 string
	Version              int64
	Source               string
	RunID                string
	ModelID              string // the logged model it was made from, if any
	RunLink              string
	Status               string
	StatusMessage        string
	CurrentStage         string
	Description          string
	UserID               string
	CreationTimestamp    int64
	LastUpdatedTimestamp int64
	Tags                 []KV
	Aliases              []string
}

// Registry limits (MLflow's).
const (
	MaxModelName   = 256
	MaxDescription = 5000
	MaxSource      = 1000
)

func validModelName(name string) error {
	if name == "" {
		return invalidf("registered model name is empty")
	}
	if len(name) > MaxModelName {
		return invalidf("registered model name is longer than %d characters", MaxModelName)
	}
	return nil
}

func modelNotFound(name string) error {
	return fmt.Errorf("%w: registered model %q", ErrNotFound, name)
}

// CreateRegisteredModel adds a model to the tenant's registry; a taken name is ErrConflict.
func (tx *Tx) CreateRegisteredModel(ctx context.Context, m RegisteredModel) (RegisteredModel, error) {
	if err := validModelName(m.Name); err != nil {
		return RegisteredModel{}, err
	}
	if len(m.Description) > MaxDescription {
		return RegisteredModel{}, invalidf("description is longer than %d characters", MaxDescription)
	}
	for _, t := range m.Tags {
		if err := validTag(t.Key, t.Value); err != nil {
			return RegisteredModel{}, err
		}
	}
	ms := tx.now.UnixMilli()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO registered_models (tenant, name, description, user_id, creation_timestamp, last_updated_timestamp)
		VALUES (?, ?, ?, ?, ?, ?)`, m.Tenant, m.Name, m.Description, m.UserID, ms, ms)
	if errors.Is(mapErr(err), ErrConflict) {
		return RegisteredModel{}, fmt.Errorf("%w: registered model (name=%s) already exists", ErrConflict, m.Name)
	}
	if err != nil {
		return RegisteredModel{}, mapErr(err)
	}
	for _, t := range m.Tags {
		if err := tx.SetRegisteredModelTag(ctx, m.Tenant, m.Name, t.Key, t.Value); err != nil {
			return RegisteredModel{}, err
		}
	}
	return tx.RegisteredModel(ctx, m.Tenant, m.Name)
}

const modelCols = "tenant, name, description, user_id, creation_timestamp, last_updated_timestamp"

// RegisteredModel reads a model with its tags, aliases and latest versions.
func (tx *Tx) RegisteredModel(ctx context.Context, tenant, name string) (RegisteredModel, error) {
	ms, err := tx.models(ctx, "tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return RegisteredModel{}, err
	}
	if len(ms) == 0 {
		return RegisteredModel{}, modelNotFound(name)
	}
	return ms[0], nil
}

// ModelQuery selects registered models or versions: Filters on name
// (=, !=, LIKE, ILIKE), run_id and source_path (versions), tags; Orders on
// name, creation_timestamp, last_updated_timestamp (and version_number).
type ModelQuery struct {
	Tenant  string
	Filters []Filter
	Orders  []Order
	Offset  int
	Limit   int
}

func modelWhere(q ModelQuery, table string, attrs map[string]string) (string, []any, error) {
	where, args := []string{table + ".tenant = ?"}, []any{q.Tenant}
	for _, f := range q.Filters {
		switch f.Kind {
		case FilterTag:
			cond, a, err := compare("t.value", f, false)
			if err != nil {
				return "", nil, err
			}
			if table == "model_versions" {
				where = append(where, "EXISTS (SELECT 1 FROM model_version_tags t WHERE t.tenant = model_versions.tenant AND t.name = model_versions.name AND t.version = model_versions.version AND t.key = ? AND "+cond+")")
			} else {
				where = append(where, "EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.tenant = registered_models.tenant AND t.name = registered_models.name AND t.key = ? AND "+cond+")")
			}
			args = append(append(args, f.Key), a...)
		case FilterAttribute:
			col, ok := attrs[f.Key]
			if !ok {
				return "", nil, invalidf("cannot filter on %q", f.Key)
			}
			cond, a, err := compare(col, f, false)
			if err != nil {
				return "", nil, err
			}
			where, args = append(where, cond), append(args, a...)
		default:
			return "", nil, invalidf("cannot filter on %s %q", f.Kind, f.Key)
		}
	}
	return strings.Join(where, " AND "), args, nil
}

func modelOrder(q ModelQuery, cols map[string]string, tail string) (string, error) {
	var order []string
	for _, o := range q.Orders {
		col, ok := cols[o.Key]
		if o.Kind != FilterAttribute || !ok {
			return "", invalidf("cannot order by %q", o.Key)
		}
		order = append(order, col+dir(o.Desc))
	}
	return strings.Join(append(order, tail), ", "), nil
}

// SearchRegisteredModels lists a tenant's models, by name unless ordered otherwise.
func (tx *Tx) SearchRegisteredModels(ctx context.Context, q ModelQuery) ([]RegisteredModel, error) {
	where, args, err := modelWhere(q, "registered_models", map[string]string{"name": "name"})
	if err != nil {
		return nil, err
	}
	order, err := modelOrder(q, map[string]string{"name": "name", "creation_timestamp": "creation_timestamp", "last_updated_timestamp": "last_updated_timestamp", "timestamp": "last_updated_timestamp"}, "name ASC")
	if err != nil {
		return nil, err
	}
	return tx.models(ctx, where+" ORDER BY "+order+" LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
}

func (tx *Tx) models(ctx context.Context, where string, args ...any) ([]RegisteredModel, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+modelCols+" FROM registered_models WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	var out []RegisteredModel
	for rows.Next() {
		var m RegisteredModel
		if err := rows.Scan(&m.Tenant, &m.Name, &m.Description, &m.UserID, &m.CreationTimestamp, &m.LastUpdatedTimestamp); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	if err := errJoinClose(rows); err != nil {
		return nil, err
	}
	for i := range out {
		m := &out[i]
		if m.Tags, err = tx.kvs(ctx, "SELECT key, value FROM registered_model_tags WHERE tenant = ? AND name = ? ORDER BY key", m.Tenant, m.Name); err != nil {
			return nil, err
		}
		if m.Aliases, err = tx.aliases(ctx, m.Tenant, m.Name); err != nil {
			return nil, err
		}
		if m.LatestVersions, err = tx.LatestVersions(ctx, m.Tenant, m.Name, nil); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []RegisteredModel{}
	}
	return out, nil
}

func (tx *Tx) aliases(ctx context.Context, tenant, name string) ([]ModelAlias, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT alias, version FROM model_aliases WHERE tenant = ? AND name = ? ORDER BY alias", tenant, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ModelAlias{}
	for rows.Next() {
		var a ModelAlias
		if err := rows.Scan(&a.Alias, &a.Version); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (tx *Tx) touchModel(ctx context.Context, tenant, name string) error {
	res, err := tx.tx.ExecContext(ctx, "UPDATE registered_models SET last_updated_timestamp = ? WHERE tenant = ? AND name = ?", tx.now.UnixMilli(), tenant, name)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return modelNotFound(name)
	}
	return nil
}

// RenameRegisteredModel renames a model; its versions, tags and aliases follow.
func (tx *Tx) RenameRegisteredModel(ctx context.Context, tenant, name, newName string) (RegisteredModel, error) {
	if err := validModelName(newName); err != nil {
		return RegisteredModel{}, err
	}
	res, err := tx.tx.ExecContext(ctx, "UPDATE registered_models SET name = ?, last_updated_timestamp = ? WHERE tenant = ? AND name = ?", newName, tx.now.UnixMilli(), tenant, name)
	if errors.Is(mapErr(err), ErrConflict) {
		return RegisteredModel{}, fmt.Errorf("%w: registered model (name=%s) already exists", ErrConflict, newName)
	}
	if err != nil {
		return RegisteredModel{}, mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return RegisteredModel{}, modelNotFound(name)
	}
	return tx.RegisteredModel(ctx, tenant, newName)
}

// UpdateRegisteredModel sets a model's description.
func (tx *Tx) UpdateRegisteredModel(ctx context.Context, tenant, name, description string) (RegisteredModel, error) {
	if len(description) > MaxDescription {
		return RegisteredModel{}, invalidf("description is longer than %d characters", MaxDescription)
	}
	if _, err := tx.tx.ExecContext(ctx, "UPDATE registered_models SET description = ? WHERE tenant = ? AND name = ?", description, tenant, name); err != nil {
		return RegisteredModel{}, mapErr(err)
	}
	if err := tx.touchModel(ctx, tenant, name); err != nil {
		return RegisteredModel{}, err
	}
	return tx.RegisteredModel(ctx, tenant, name)
}

// DeleteRegisteredModel removes a model with its versions, tags and aliases.
func (tx *Tx) DeleteRegisteredModel(ctx context.Context, tenant, name string) error {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM registered_models WHERE tenant = ? AND name = ?", tenant, name)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return modelNotFound(name)
	}
	return nil
}

// SetRegisteredModelTag sets one tag of a model.
func (tx *Tx) SetRegisteredModelTag(ctx context.Context, tenant, name, key, value string) error {
	if err := validTag(key, value); err != nil {
		return err
	}
	if err := tx.touchModel(ctx, tenant, name); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO registered_model_tags (tenant, name, key, value) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant, name, key) DO UPDATE SET value = excluded.value`, tenant, name, key, value)
	return mapErr(err)
}

// DeleteRegisteredModelTag removes one tag of a model.
func (tx *Tx) DeleteRegisteredModelTag(ctx context.Context, tenant, name, key string) error {
	if err := tx.touchModel(ctx, tenant, name); err != nil {
		return err
	}
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM registered_model_tags WHERE tenant = ? AND name = ? AND key = ?", tenant, name, key)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no tag %q on registered model %q", ErrNotFound, key, name)
	}
	return nil
}
