package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// loggedModelAttrs are the attributes a logged model search filters and
// orders on (MLflow's SearchLoggedModelsUtils), and whether they are numbers.
var loggedModelAttrs = map[string]struct {
	col     string
	numeric bool
}{
	"name": {"m.name", false}, "model_id": {"m.model_id", false}, "model_type": {"m.model_type", false},
	"status": {"m.status", false}, "source_run_id": {"m.source_run_id", false},
	"creation_timestamp": {"m.creation_timestamp", true}, "creation_time": {"m.creation_timestamp", true},
	"last_updated_timestamp": {"m.last_updated_timestamp", true}, "last_updated_time": {"m.last_updated_timestamp", true},
}

// LoggedModelAttributeIsNumeric says whether a logged model attribute
// compares as a number; ok is false for an unknown one.
func LoggedModelAttributeIsNumeric(key string) (numeric, ok bool) {
	a, ok := loggedModelAttrs[key]
	return a.numeric, ok
}

// LoggedModelQuery is a search over logged models of some experiments of
// one tenant: Filters on attributes, tags and params (ANDed), Orders on
// attributes.
type LoggedModelQuery struct {
	Tenant        string
	ExperimentIDs []int64
	Filters       []Filter
	Orders        []Order
	Offset        int
	Limit         int
}

// SearchLoggedModels finds live logged models in MLflow's order: the given
// terms, then creation_timestamp DESC, model_id.
func (tx *Tx) SearchLoggedModels(ctx context.Context, q LoggedModelQuery) ([]LoggedModel, error) {
	if len(q.ExperimentIDs) == 0 {
		return []LoggedModel{}, nil
	}
	ids := make([]string, len(q.ExperimentIDs))
	for i, id := range q.ExperimentIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	where := []string{"m.tenant = ?", "m.experiment_id IN (" + strings.Join(ids, ",") + ")", "m.lifecycle_stage = 'active'"}
	args := []any{q.Tenant}
	for _, f := range q.Filters {
		var cond string
		var a []any
		var err error
		switch f.Kind {
		case FilterTag, FilterParam:
			table := map[string]string{FilterTag: "logged_model_tags", FilterParam: "logged_model_params"}[f.Kind]
			cond, a, err = compare("x.value", f, false)
			cond = "EXISTS (SELECT 1 FROM " + table + " x WHERE x.model_id = m.model_id AND x.key = ? AND " + cond + ")"
			a = append([]any{f.Key}, a...)
		case FilterAttribute:
			attr, ok := loggedModelAttrs[f.Key]
			if !ok {
				return nil, invalidf("invalid logged model search key %q", f.Key)
			}
			if f.Key == "status" {
				f, err = statusFilter(f)
				if err != nil {
					return nil, err
				}
			}
			cond, a, err = compare(attr.col, f, attr.numeric)
		case FilterMetric:
			return nil, invalidf("logged models cannot be filtered on metrics here: ferry does not link metrics to logged models yet")
		default:
			return nil, invalidf("unknown filter kind %q", f.Kind)
		}
		if err != nil {
			return nil, err
		}
		where, args = append(where, cond), append(args, a...)
	}
	var order []string
	for _, o := range q.Orders {
		attr, ok := loggedModelAttrs[o.Key]
		if o.Kind != FilterAttribute || !ok {
			return nil, invalidf("logged models cannot be ordered by %s %q", o.Kind, o.Key)
		}
		order = append(order, attr.col+dir(o.Desc))
	}
	order = append(order, "m.creation_timestamp DESC", "m.model_id ASC")
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+prefixCols("m.", loggedModelCols)+" FROM logged_models m WHERE "+strings.Join(where, " AND ")+
		" ORDER BY "+strings.Join(order, ", ")+" LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, fmt.Errorf("search logged models: %w", err)
	}
	var out []LoggedModel
	for rows.Next() {
		m, err := scanLoggedModel(rows.Scan)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	if err := errJoinClose(rows); err != nil {
		return nil, err
	}
	if out == nil {
		return []LoggedModel{}, nil
	}
	return tx.withModelData(ctx, out)
}

// statusFilter turns the statuses of a filter (READY, LOGGED_MODEL_READY)
// into the stored names; an unknown status is refused.
func statusFilter(f Filter) (Filter, error) {
	norm := func(s string) (string, error) {
		st, ok := LoggedModelStatus(s)
		if !ok {
			return "", invalidf("%q is not a logged model status (PENDING, READY or UPLOAD_FAILED)", s)
		}
		return st, nil
	}
	switch v := f.Value.(type) {
	case string:
		if f.Op == "LIKE" || f.Op == "ILIKE" {
			return f, nil
		}
		st, err := norm(v)
		f.Value = st
		return f, err
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			st, err := norm(s)
			if err != nil {
				return f, err
			}
			out[i] = st
		}
		f.Value = out
	}
	return f, nil
}
