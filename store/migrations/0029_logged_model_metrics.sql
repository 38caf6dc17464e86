-- Metrics linked to a logged model (MLflow 3: a point logged with model_id,
-- and the dataset it was measured on). The run keeps its own copy in
-- metrics; these rows are the model's. One point per (model, key, dataset,
-- run, timestamp, step); NaN is value NULL with is_nan = 1, as in metrics.
-- The primary key's order serves a model's read (the latest of each series)
-- and search's filters and orders on metrics.<key>.
CREATE TABLE logged_model_metrics (
    model_id       TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
    key            TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    dataset_name   TEXT NOT NULL DEFAULT '' CHECK (length(dataset_name) <= 500),
    dataset_digest TEXT NOT NULL DEFAULT '' CHECK (length(dataset_digest) <= 36),
    run_uuid       TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    value          REAL,
    is_nan         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (model_id, key, dataset_name, dataset_digest, run_uuid, timestamp, step)
) WITHOUT ROWID;
-- Deleting a run (its tenant's cascade) finds its linked points.
CREATE INDEX logged_model_metrics_run ON logged_model_metrics(run_uuid);
