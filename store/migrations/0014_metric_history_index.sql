-- get-history reads a whole series: an index that holds the value too
-- answers it without a table lookup per point.
CREATE INDEX metrics_history ON metrics(run_uuid, key, step, timestamp, value, is_nan);
DROP INDEX metrics_series;
