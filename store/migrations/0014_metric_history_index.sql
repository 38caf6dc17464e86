-- get-history reads a whole series: an index that holds the value too
-- answers it without a table lookup per point.
CREATE INDEX metrics_history ON metrics(run_uuid, key, step, timestamp, value, is_nan);
DROP INDEX metrics_series;
-- runs/search ordered by start_time ascending (oldest first), tie-broken by
-- run id ascending: the other direction of runs_experiment cannot serve it.
CREATE INDEX runs_experiment_oldest ON runs(tenant, experiment_id, start_time ASC, run_uuid ASC);
