package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Limits of the dataset a metric is linked with (MLflow's columns), and of
// the datasets one logged model search names.
const (
	MaxDatasetName    = 500
	MaxDatasetDigest  = 36
	MaxSearchDatasets = 100
)

// DatasetRef names a dataset as a metric of a logged model carries it: a
// name and, optionally, a digest.
type DatasetRef struct {
	Name   string
	Digest string
}

// LoggedModelMetric is a metric linked to a logged model (MLflow 3: a point
// logged with model_id): the run that logged it and the dataset it was
// measured on are in the Metric and RunID.
type LoggedModelMetric struct {
	Metric
	RunID string
}

// validLoggedModelID says whether id has the shape of a logged model id:
// "m-" and 32 lowercase hex characters.
func validLoggedModelID(id string) bool {
	if len(id) != 34 || !strings.HasPrefix(id, "m-") {
		return false
	}
	for _, c := range id[2:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkMetricLink bounds a point's model and dataset fields; path names the
// point in errors ("" for one point, "metrics[3]." in a batch).
func checkMetricLink(path string, m Metric) error {
	if m.ModelID != "" && !validLoggedModelID(m.ModelID) {
		return invalidf("%smodel_id %.40q is not a logged model id (m- and 32 hex characters)", path, m.ModelID)
	}
	if len(m.DatasetName) > MaxDatasetName {
		return invalidf("%sdataset_name is %d characters, more than the limit of %d", path, len(m.DatasetName), MaxDatasetName)
	}
	if len(m.DatasetDigest) > MaxDatasetDigest {
		return invalidf("%sdataset_digest is %d characters, more than the limit of %d", path, len(m.DatasetDigest), MaxDatasetDigest)
	}
	return nil
}

// linkModelMetrics keeps the points that carry a model_id as the model's
// metrics too (the run has its own copy). Each model must be a live model
// of the tenant. A point is one per (model, key, dataset, run, timestamp,
// step): the same point again is a no-op, and of two values at one step
// and timestamp the larger is kept (NaN loses), as for a run's latest.
func (tx *Tx) linkModelMetrics(ctx context.Context, tenant, runID string, metrics []Metric) error {
	checked := map[string]bool{}
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			_ = stmt.Close()
		}
	}()
	for i, m := range metrics {
		if m.ModelID == "" {
			continue
		}
		if !checked[m.ModelID] {
			if _, err := tx.loggedModelRow(ctx, tenant, m.ModelID, false); err != nil {
				return fmt.Errorf("%s (%s): %w", pointPath(len(metrics), i)+"model_id", m.ModelID, err)
			}
			checked[m.ModelID] = true
		}
		if stmt == nil {
			var err error
			if stmt, err = tx.tx.PrepareContext(ctx, `INSERT INTO logged_model_metrics (model_id, key, dataset_name, dataset_digest, run_uuid, timestamp, step, value, is_nan)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (model_id, key, dataset_name, dataset_digest, run_uuid, timestamp, step) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan
				WHERE excluded.is_nan = 0 AND (logged_model_metrics.is_nan = 1 OR excluded.value > logged_model_metrics.value)`); err != nil {
				return err
			}
		}
		v, isNaN := metricValue(m.Value)
		if _, err := stmt.ExecContext(ctx, m.ModelID, m.Key, m.DatasetName, m.DatasetDigest, runID, m.Timestamp, m.Step, v, isNaN); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// pointPath names point i of n in errors as MLflow does: nothing for a
// single point, metrics[i]. in a batch.
func pointPath(n, i int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf("metrics[%d].", i)
}

// loggedModelMetrics reads the metrics of a model: of each (key, dataset,
// run), the latest point (largest timestamp, then step), by key, dataset
// and run. A run's data.metrics are likewise the latest of each key.
func (tx *Tx) loggedModelMetrics(ctx context.Context, id string) ([]LoggedModelMetric, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT key, value, is_nan, timestamp, step, dataset_name, dataset_digest, run_uuid FROM (
		SELECT *, row_number() OVER (PARTITION BY key, dataset_name, dataset_digest, run_uuid ORDER BY timestamp DESC, step DESC) AS rn
		FROM logged_model_metrics WHERE model_id = ?) WHERE rn = 1 ORDER BY key, dataset_name, dataset_digest, run_uuid`, id)
	if err != nil {
		return nil, fmt.Errorf("metrics of logged model %s: %w", id, err)
	}
	out := []LoggedModelMetric{}
	for rows.Next() {
		var lm LoggedModelMetric
		m, err := scanMetric(func(dst ...any) error {
			return rows.Scan(append(dst, &lm.DatasetName, &lm.DatasetDigest, &lm.RunID)...)
		})
		if err != nil {
			rows.Close()
			return nil, err
		}
		m.DatasetName, m.DatasetDigest, m.ModelID = lm.DatasetName, lm.DatasetDigest, id
		lm.Metric = m
		out = append(out, lm)
	}
	return out, errJoinClose(rows)
}

// latestModelMetric is the condition that row x of logged_model_metrics is
// the latest point of its (key, dataset, run): no later y in that series.
const latestModelMetric = `NOT EXISTS (SELECT 1 FROM logged_model_metrics y WHERE y.model_id = x.model_id AND y.key = x.key
	AND y.dataset_name = x.dataset_name AND y.dataset_digest = x.dataset_digest AND y.run_uuid = x.run_uuid
	AND (y.timestamp, y.step) > (x.timestamp, x.step))`

// datasetClause restricts x to any of the datasets ("" and no args when
// there are none); a dataset without a digest matches every digest.
func datasetClause(col string, ds []DatasetRef) (string, []any) {
	if len(ds) == 0 {
		return "", nil
	}
	var or []string
	var args []any
	for _, d := range ds {
		if d.Digest == "" {
			or, args = append(or, col+".dataset_name = ?"), append(args, d.Name)
			continue
		}
		or, args = append(or, "("+col+".dataset_name = ? AND "+col+".dataset_digest = ?)"), append(args, d.Name, d.Digest)
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}

// modelMetricFilter renders a metrics.<key> filter of a logged model
// search: the model has a series of the key (on one of the datasets, when
// named) whose latest value compares true. NaN never does.
func modelMetricFilter(f Filter, ds []DatasetRef) (string, []any, error) {
	cond, a, err := compare("x.value", f, true)
	if err != nil {
		return "", nil, err
	}
	where, args := "x.model_id = m.model_id AND x.key = ?", []any{f.Key}
	if dc, da := datasetClause("x", ds); dc != "" {
		where, args = where+" AND "+dc, append(args, da...)
	}
	return "EXISTS (SELECT 1 FROM logged_model_metrics x WHERE " + where + " AND x.is_nan = 0 AND " + cond + " AND " + latestModelMetric + ")", append(args, a...), nil
}

// modelMetricOrder renders the join of an order by metrics.<key> (on a
// dataset, when named): of the model's points of the key, the latest by
// timestamp then step (MLflow's rule), ties broken by run and dataset so
// that a model is one row. alias names the joined row.
func modelMetricOrder(alias string, o Order) (string, []any) {
	on, args := alias+".model_id = m.model_id AND "+alias+".key = ?", []any{o.Key}
	later := "y.model_id = " + alias + ".model_id AND y.key = " + alias + ".key"
	if o.Dataset.Name != "" {
		dc, da := datasetClause(alias, []DatasetRef{o.Dataset})
		on, args = on+" AND "+dc, append(args, da...)
		yc, ya := datasetClause("y", []DatasetRef{o.Dataset})
		later, args = later+" AND "+yc, append(args, ya...)
	}
	return "LEFT JOIN logged_model_metrics " + alias + " ON " + on + " AND NOT EXISTS (SELECT 1 FROM logged_model_metrics y WHERE " + later +
		" AND (y.timestamp, y.step, y.run_uuid, y.dataset_name, y.dataset_digest) > (" + alias + ".timestamp, " + alias + ".step, " +
		alias + ".run_uuid, " + alias + ".dataset_name, " + alias + ".dataset_digest))", args
}
