package store

import (
	"context"
	"database/sql"
	"math"
	"strings"
)

// MetricSummary is what the tuning controller reads of one metric of a
// run: its latest point (MLflow's rule: largest step, then timestamp) and
// the lowest and highest values logged (NaN left out).
type MetricSummary struct {
	Points   int
	Last     Metric
	Min, Max float64
}

// SummarizeMetric reads a run's metric key; Points is 0 when it never logged it.
func (tx *Tx) SummarizeMetric(ctx context.Context, runID, key string) (MetricSummary, error) {
	var s MetricSummary
	var lo, hi sql.NullFloat64
	if err := tx.tx.QueryRowContext(ctx, `SELECT count(*), min(value), max(value) FROM metrics INDEXED BY metrics_history WHERE run_uuid = ? AND key = ?`,
		runID, key).Scan(&s.Points, &lo, &hi); err != nil {
		return s, err
	}
	if s.Points == 0 {
		return s, nil
	}
	s.Min, s.Max = math.NaN(), math.NaN()
	if lo.Valid {
		s.Min, s.Max = lo.Float64, hi.Float64
	}
	last, err := scanMetric(tx.tx.QueryRowContext(ctx, "SELECT key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid = ? AND key = ?", runID, key).Scan)
	if err != nil {
		return s, mapErr(err)
	}
	s.Last = last
	return s, nil
}

// MetricAtStep is, per run that logged key at step, the value of its last
// point at that step (by timestamp).
func (tx *Tx) MetricAtStep(ctx context.Context, runIDs []string, key string, step int64) (map[string]float64, error) {
	out := map[string]float64{}
	for len(runIDs) > 0 {
		chunk := runIDs[:min(len(runIDs), 500)]
		runIDs = runIDs[len(chunk):]
		args := make([]any, 0, len(chunk)+2)
		for _, id := range chunk {
			args = append(args, id)
		}
		args = append(args, key, step)
		rows, err := tx.tx.QueryContext(ctx, `SELECT run_uuid, value, is_nan FROM metrics INDEXED BY metrics_history
			WHERE run_uuid IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) AND key = ? AND step = ? ORDER BY run_uuid, timestamp`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var v sql.NullFloat64
			var isNaN bool
			if err := rows.Scan(&id, &v, &isNaN); err != nil {
				rows.Close()
				return nil, err
			}
			if isNaN || !v.Valid {
				out[id] = math.NaN()
			} else {
				out[id] = v.Float64
			}
		}
		if err := errJoinClose(rows); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RunMetricKeys lists the metric keys a run logged (at most limit), for
// telling a user which metrics exist when the objective is not among them.
func (tx *Tx) RunMetricKeys(ctx context.Context, runID string, limit int) ([]string, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT key FROM latest_metrics WHERE run_uuid = ? ORDER BY key LIMIT ?", runID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
