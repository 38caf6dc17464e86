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
// one tenant: Filters on attributes, tags, params and metrics (ANDed),
// Orders on attributes and metrics (an order's Dataset narrows its metric
// to a dataset). Datasets, when given, narrow every metric filter to
// metrics of those datasets (any of them), and without a metric filter
// keep only the models with a metric on one of them.
type LoggedModelQuery struct {
	Tenant        string
	ExperimentIDs []int64
	Filters       []Filter
	Datasets      []DatasetRef
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
			cond, a, err = modelMetricFilter(f, q.Datasets)
		default:
			return nil, invalidf("unknown filter kind %q", f.Kind)
		}
		if err != nil {
			return nil, err
		}
		where, args = append(where, cond), append(args, a...)
	}
	if err := checkDatasets(q.Datasets); err != nil {
		return nil, err
	}
	if len(q.Datasets) > 0 && !hasKind(q.Filters, FilterMetric) {
		dc, da := datasetClause("x", q.Datasets)
		where, args = append(where, "EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND "+dc+")"), append(args, da...)
	}
	var joins, order []string
	var jargs []any
	for i, o := range q.Orders {
		if o.Kind == FilterMetric {
			if len(o.Dataset.Name) > MaxDatasetName || len(o.Dataset.Digest) > MaxDatasetDigest {
				return nil, invalidf("order_by[%d]: a dataset name is at most %d characters and a digest %d", i, MaxDatasetName, MaxDatasetDigest)
			}
			alias := fmt.Sprintf("o%d", i)
			j, a := modelMetricOrder(alias, o)
			joins, jargs = append(joins, j), append(jargs, a...)
			// As for runs: numbers, then NaN, then models without the metric.
			order = append(order, alias+".model_id IS NULL", "coalesce("+alias+".is_nan, 0)", alias+".value"+dir(o.Desc))
			continue
		}
		attr, ok := loggedModelAttrs[o.Key]
		if o.Kind != FilterAttribute || !ok {
			return nil, invalidf("logged models cannot be ordered by %s %q", o.Kind, o.Key)
		}
		order = append(order, attr.col+dir(o.Desc))
	}
	order = append(order, "m.creation_timestamp DESC", "m.model_id ASC")
	rows, err := tx.tx.QueryContext(ctx, "SELECT "+prefixCols("m.", loggedModelCols)+" FROM logged_models m "+strings.Join(joins, " ")+" WHERE "+strings.Join(where, " AND ")+
		" ORDER BY "+strings.Join(order, ", ")+" LIMIT ? OFFSET ?", append(append(jargs, args...), q.Limit, q.Offset)...)
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

func hasKind(fs []Filter, kind string) bool {
	for _, f := range fs {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

// checkDatasets bounds the datasets of a search: how many, their names and digests.
func checkDatasets(ds []DatasetRef) error {
	if len(ds) > MaxSearchDatasets {
		return invalidf("datasets: a search names at most %d, not %d", MaxSearchDatasets, len(ds))
	}
	for i, d := range ds {
		if len(d.Name) > MaxDatasetName {
			return invalidf("datasets[%d].dataset_name is %d characters, more than the limit of %d", i, len(d.Name), MaxDatasetName)
		}
		if len(d.Digest) > MaxDatasetDigest {
			return invalidf("datasets[%d].dataset_digest is %d characters, more than the limit of %d", i, len(d.Digest), MaxDatasetDigest)
		}
	}
	return nil
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
