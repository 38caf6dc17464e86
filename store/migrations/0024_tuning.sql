-- Hyperparameter tuning: a tuning per tenant (its spec as JSON, written by
-- the API, read by the tuning controller) and its trials. A tuning is a
-- tracking run (run_uuid); each trial is a training job whose tracking run
-- is a child of it. params holds each suggestion as it was made, so that a
-- restarted server goes on from what is here.
CREATE TABLE tunings (
    id            INTEGER PRIMARY KEY,
    tenant        TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 46),
    spec          TEXT NOT NULL CHECK (length(spec) <= 262144),
    state         TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'stopped')),
    reason        TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024),
    experiment_id INTEGER NOT NULL,
    run_uuid      TEXT NOT NULL UNIQUE REFERENCES runs(run_uuid) ON DELETE CASCADE,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    finished_at   TEXT,
    UNIQUE (tenant, name)
);
CREATE INDEX tunings_tenant ON tunings(tenant, id);
CREATE INDEX tunings_running ON tunings(id) WHERE state = 'running';

CREATE TABLE tuning_trials (
    tuning_id   INTEGER NOT NULL REFERENCES tunings(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL CHECK (number BETWEEN 0 AND 999),
    params      TEXT NOT NULL CHECK (length(params) <= 65536),
    state       TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'pruned', 'cancelled')),
    reason      TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024),
    job_id      INTEGER NOT NULL,
    job_name    TEXT NOT NULL CHECK (length(job_name) <= 52),
    run_uuid    TEXT NOT NULL DEFAULT '',
    value       REAL,
    step        INTEGER,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (tuning_id, number)
) WITHOUT ROWID;
CREATE INDEX tuning_trials_running ON tuning_trials(tuning_id) WHERE state = 'running';
