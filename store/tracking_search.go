package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Filter kinds: what a search clause compares.
const (
	FilterMetric    = "metric"
	FilterParam     = "param"
	FilterTag       = "tag"
	FilterAttribute = "attribute"
)

// Filter is one clause of a search, already parsed: Kind.Key Op Value. Value
// is a float64 for metrics and numeric attributes, a []string for IN and
// NOT IN, otherwise a string. Only values reach SQL as arguments; kinds,
// keys of attributes and operators are checked against fixed lists.
type Filter struct {
	Kind  string
	Key   string
	Op    string
	Value any
}

// Order is one order-by term. Dataset narrows an order by a logged
// model's metric to the metric's points on that dataset.
type Order struct {
	Kind    string
	Key     string
	Desc    bool
	Dataset DatasetRef
}

// run attributes that can be searched and ordered, and whether they are numbers.
var runAttrs = map[string]struct {
	col     string
	numeric bool
}{
	"status": {"r.status", false}, "start_time": {"r.start_time", true}, "end_time": {"r.end_time", true},
	"run_name": {"r.name", false}, "run_id": {"r.run_uuid", false}, "artifact_uri": {"r.artifact_uri", false},
	"user_id": {"r.user_id", false}, "lifecycle_stage": {"r.lifecycle_stage", false}, "experiment_id": {"r.experiment_id", true},
}

// AttributeIsNumeric says whether a run attribute compares as a number; ok is false for an unknown one.
func AttributeIsNumeric(key string) (numeric, ok bool) {
	a, ok := runAttrs[key]
	return a.numeric, ok
}

// compare renders "col op ?" for f. numeric columns take float64 values.
func compare(col string, f Filter, numeric bool) (string, []any, error) {
	switch f.Op {
	case "=", "!=", ">", ">=", "<", "<=":
		if numeric {
			v, ok := f.Value.(float64)
			if !ok {
				return "", nil, invalidf("%s %q compares with a number", f.Kind, f.Key)
			}
			return col + " " + f.Op + " ?", []any{v}, nil
		}
		v, ok := f.Value.(string)
		if !ok {
			return "", nil, invalidf("%s %q compares with a string", f.Kind, f.Key)
		}
		if f.Op != "=" && f.Op != "!=" && f.Kind != FilterAttribute {
			return "", nil, invalidf("%s %q supports only =, !=, LIKE and ILIKE", f.Kind, f.Key)
		}
		return col + " " + f.Op + " ?", []any{v}, nil
	case "LIKE", "ILIKE":
		v, ok := f.Value.(string)
		if numeric || !ok {
			return "", nil, invalidf("%s %q cannot be compared with %s", f.Kind, f.Key, f.Op)
		}
		if f.Op == "ILIKE" {
			return "lower(" + col + ") LIKE lower(?) ESCAPE '\\'", []any{v}, nil
		}
		return col + " GLOB ?", []any{likeToGlob(v)}, nil
	case "IN", "NOT IN":
		vs, ok := f.Value.([]string)
		if !ok || len(vs) == 0 {
			return "", nil, invalidf("%s %q %s needs a non-empty list of strings", f.Kind, f.Key, f.Op)
		}
		args := make([]any, len(vs))
		for i, v := range vs {
			args[i] = v
		}
		return col + " " + f.Op + " (" + strings.TrimSuffix(strings.Repeat("?,", len(vs)), ",") + ")", args, nil
	}
	return "", nil, invalidf("operator %q is not supported", f.Op)
}

// likeToGlob turns a case-sensitive SQL LIKE pattern into a GLOB one (SQLite's LIKE ignores case).
func likeToGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[', ']':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// RunQuery is a run search over experiments of one tenant.
type RunQuery struct {
	Tenant        string
	ExperimentIDs []int64
	ViewType      string // ACTIVE_ONLY (default), DELETED_ONLY, ALL
	Filters       []Filter
	Orders        []Order
	Offset        int
	Limit         int
}

// SearchRuns finds runs by filter clauses (ANDed) in MLflow's order: the
// given terms (missing values last), then start_time DESC, run_id.
func (tx *Tx) SearchRuns(ctx context.Context, q RunQuery) ([]Run, error) {
	if len(q.ExperimentIDs) == 0 {
		return []Run{}, nil
	}
	var joins, where, order []string
	var jargs, wargs []any
	where = append(where, "r.tenant = ?")
	wargs = append(wargs, q.Tenant)
	ids := make([]string, len(q.ExperimentIDs))
	for i, id := range q.ExperimentIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	where = append(where, "r.experiment_id IN ("+strings.Join(ids, ",")+")")
	if s := stageClause(q.ViewType, "r.lifecycle_stage"); s != "" {
		where = append(where, s)
	}
	for i, f := range q.Filters {
		alias := "f" + strconv.Itoa(i)
		var cond string
		var args []any
		var err error
		switch f.Kind {
		case FilterMetric:
			joins = append(joins, "JOIN latest_metrics "+alias+" ON "+alias+".run_uuid = r.run_uuid AND "+alias+".key = ?")
			cond, args, err = compare(alias+".value", f, true)
		case FilterParam:
			joins = append(joins, "JOIN run_params "+alias+" ON "+alias+".run_uuid = r.run_uuid AND "+alias+".key = ?")
			cond, args, err = compare(alias+".value", f, false)
		case FilterTag:
			joins = append(joins, "JOIN run_tags "+alias+" ON "+alias+".run_uuid = r.run_uuid AND "+alias+".key = ?")
			cond, args, err = compare(alias+".value", f, false)
		case FilterAttribute:
			a, ok := runAttrs[f.Key]
			if !ok {
				return nil, invalidf("runs cannot be searched by attribute %q", f.Key)
			}
			cond, args, err = compare(a.col, f, a.numeric)
		default:
			return nil, invalidf("unknown filter kind %q", f.Kind)
		}
		if err != nil {
			return nil, err
		}
		if f.Kind != FilterAttribute {
			jargs = append(jargs, f.Key)
		}
		where, wargs = append(where, cond), append(wargs, args...)
	}
	// When the first order is a metric that a filter also requires, no run
	// without it can match: walk latest_metrics' (key, value) index in that
	// order and stop at the page, instead of sorting every matching run.
	from := "runs r"
	indexed := len(q.Orders) > 0 && q.Orders[0].Kind == FilterMetric && requiresMetric(q.Filters, q.Orders[0].Key)
	for i, o := range q.Orders {
		alias := "o" + strconv.Itoa(i)
		var col string
		switch {
		case i == 0 && indexed:
			from = "latest_metrics o0 CROSS JOIN runs r"
			where = append([]string{"o0.key = ?", "o0.run_uuid = r.run_uuid", "o0.value IS NOT NULL"}, where...)
			wargs = append([]any{o.Key}, wargs...)
			order = append(order, "o0.value"+dir(o.Desc))
			continue
		}
		switch o.Kind {
		case FilterMetric:
			joins = append(joins, "LEFT JOIN latest_metrics "+alias+" ON "+alias+".run_uuid = r.run_uuid AND "+alias+".key = ?")
			col = alias + ".value"
			// MLflow sorts NaN after numbers, before missing values.
			order = append(order, alias+".run_uuid IS NULL", "coalesce("+alias+".is_nan, 0)")
		case FilterParam, FilterTag:
			table := map[string]string{FilterParam: "run_params", FilterTag: "run_tags"}[o.Kind]
			joins = append(joins, "LEFT JOIN "+table+" "+alias+" ON "+alias+".run_uuid = r.run_uuid AND "+alias+".key = ?")
			col = alias + ".value"
			order = append(order, col+" IS NULL")
		case FilterAttribute:
			a, ok := runAttrs[o.Key]
			if !ok {
				return nil, invalidf("runs cannot be ordered by attribute %q", o.Key)
			}
			col = a.col
			if o.Key != "start_time" { // NOT NULL: the term would only keep the index from serving the order
				order = append(order, col+" IS NULL")
			}
		default:
			return nil, invalidf("unknown order kind %q", o.Kind)
		}
		if o.Kind != FilterAttribute {
			jargs = append(jargs, o.Key)
		}
		order = append(order, col+dir(o.Desc))
	}
	// MLflow's tie-breakers; an order by start_time alone (the runs page's
	// "oldest first") keeps run_id ascending so an index serves it whole.
	if len(q.Orders) == 1 && q.Orders[0].Kind == FilterAttribute && q.Orders[0].Key == "start_time" {
		order = append(order, "r.run_uuid ASC")
	} else {
		order = append(order, "r.start_time DESC", "r.run_uuid ASC")
	}
	sql := "SELECT " + prefixCols("r.", runCols) + " FROM " + from + " " + strings.Join(joins, " ") +
		" WHERE " + strings.Join(where, " AND ") + " ORDER BY " + strings.Join(order, ", ") + " LIMIT ? OFFSET ?"
	args := append(append(jargs, wargs...), q.Limit, q.Offset)
	rows, err := tx.tx.QueryContext(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("search runs: %w", err)
	}
	var infos []RunInfo
	for rows.Next() {
		r, err := scanRunInfo(rows.Scan)
		if err != nil {
			rows.Close()
			return nil, err
		}
		infos = append(infos, r)
	}
	if err := errJoinClose(rows); err != nil {
		return nil, err
	}
	return tx.withData(ctx, infos)
}

// requiresMetric says whether a filter on metric key excludes every run
// without a number for it (a comparison: a missing or NaN value never matches).
func requiresMetric(fs []Filter, key string) bool {
	for _, f := range fs {
		if f.Kind == FilterMetric && f.Key == key && f.Op != "!=" {
			return true
		}
	}
	return false
}

func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}
