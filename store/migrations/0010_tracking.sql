-- Experiment tracking (MLflow's data model), per tenant. Experiment ids are
-- numbered per tenant (0 is the tenant's "Default", as MLflow clients expect);
-- run ids are random UUIDs (hex, 32 characters). Lengths follow MLflow's limits.
CREATE TABLE experiments (
    tenant            TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    id                INTEGER NOT NULL,
    name              TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    artifact_location TEXT NOT NULL CHECK (length(artifact_location) <= 1000),
    lifecycle_stage   TEXT NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, name)
);

CREATE TABLE experiment_tags (
    tenant        TEXT NOT NULL,
    experiment_id INTEGER NOT NULL,
    key           TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    value         TEXT NOT NULL CHECK (length(value) <= 8000),
    PRIMARY KEY (tenant, experiment_id, key),
    FOREIGN KEY (tenant, experiment_id) REFERENCES experiments(tenant, id) ON DELETE CASCADE
);

CREATE TABLE runs (
    run_uuid        TEXT PRIMARY KEY CHECK (length(run_uuid) = 32),
    tenant          TEXT NOT NULL,
    experiment_id   INTEGER NOT NULL,
    name            TEXT NOT NULL CHECK (length(name) <= 250),
    user_id         TEXT NOT NULL CHECK (length(user_id) <= 250),
    status          TEXT NOT NULL CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    lifecycle_stage TEXT NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    artifact_uri    TEXT NOT NULL CHECK (length(artifact_uri) <= 1000),
    parent_run_id   TEXT NOT NULL DEFAULT '',
    FOREIGN KEY (tenant, experiment_id) REFERENCES experiments(tenant, id) ON DELETE CASCADE
);
-- Search walks a tenant's experiment newest first (MLflow's default order).
CREATE INDEX runs_experiment ON runs(tenant, experiment_id, start_time DESC, run_uuid);
CREATE INDEX runs_parent ON runs(parent_run_id) WHERE parent_run_id != '';

-- Params are immutable once set (MLflow: a different value is an error).
CREATE TABLE run_params (
    run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key      TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    value    TEXT NOT NULL CHECK (length(value) <= 6000),
    PRIMARY KEY (run_uuid, key)
) WITHOUT ROWID;
CREATE INDEX run_params_key ON run_params(key, value);

CREATE TABLE run_tags (
    run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key      TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    value    TEXT NOT NULL CHECK (length(value) <= 8000),
    PRIMARY KEY (run_uuid, key)
) WITHOUT ROWID;
CREATE INDEX run_tags_key ON run_tags(key, value);

-- Metric points. SQLite keeps ±Inf in a REAL but turns NaN into NULL, so a
-- NaN is value NULL with is_nan = 1 (MLflow's schema does the same).
CREATE TABLE metrics (
    run_uuid  TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key       TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    value     REAL,
    is_nan    INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX metrics_series ON metrics(run_uuid, key, step, timestamp);

-- Per run and key, the point with the largest step, then timestamp, then
-- value (MLflow's rule); written in the transaction of the points, for search.
CREATE TABLE latest_metrics (
    run_uuid  TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     REAL,
    is_nan    INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, key)
) WITHOUT ROWID;
CREATE INDEX latest_metrics_key ON latest_metrics(key, value);
