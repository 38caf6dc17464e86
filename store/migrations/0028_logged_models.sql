-- Logged models (MLflow 3's LoggedModel), per tenant: a model logged in an
-- experiment, usually from a run, with its own artifact tree
-- (<experiment artifact location>/models/<id>/artifacts), tags, immutable
-- params and a status that finalize moves from PENDING to READY or
-- UPLOAD_FAILED. Ids are MLflow's "m-" + 32 hex characters. Lengths follow
-- the limits of runs' tags and params.
CREATE TABLE logged_models (
    model_id               TEXT PRIMARY KEY CHECK (length(model_id) = 34 AND substr(model_id, 1, 2) = 'm-'),
    tenant                 TEXT NOT NULL,
    experiment_id          INTEGER NOT NULL,
    name                   TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 250),
    source_run_id          TEXT NOT NULL DEFAULT '',
    status                 TEXT NOT NULL CHECK (status IN ('LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED')),
    status_message         TEXT NOT NULL DEFAULT '' CHECK (length(status_message) <= 1000),
    artifact_location      TEXT NOT NULL CHECK (length(artifact_location) <= 1000),
    model_type             TEXT NOT NULL DEFAULT '' CHECK (length(model_type) <= 250),
    creator                TEXT NOT NULL DEFAULT '' CHECK (length(creator) <= 250),
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    lifecycle_stage        TEXT NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    FOREIGN KEY (tenant, experiment_id) REFERENCES experiments(tenant, id) ON DELETE CASCADE
);
-- Search walks an experiment's models newest first (MLflow's default order).
CREATE INDEX logged_models_experiment ON logged_models(tenant, experiment_id, creation_timestamp DESC, model_id);
CREATE INDEX logged_models_run ON logged_models(source_run_id) WHERE source_run_id != '';

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    value    TEXT NOT NULL CHECK (length(value) <= 8000),
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

-- Params are immutable once set, as a run's are.
CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    value    TEXT NOT NULL CHECK (length(value) <= 6000),
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

-- A logged model's artifact tree: paths to content-addressed blobs, as a
-- run's (run_artifacts) are.
CREATE TABLE logged_model_artifacts (
    model_id   TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
    path       TEXT NOT NULL CHECK (length(path) BETWEEN 1 AND 1000),
    digest     TEXT NOT NULL REFERENCES artifact_blobs(digest),
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (model_id, path)
) WITHOUT ROWID;
CREATE INDEX logged_model_artifacts_digest ON logged_model_artifacts(digest);

-- A run's outputs (MLflow's runs/outputs): the models it logged, at a step.
CREATE TABLE run_model_outputs (
    run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
    step     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_uuid, model_id, step)
) WITHOUT ROWID;

-- A registry version may be made from a logged model (model-versions/create
-- with model_id); '' when it was not.
ALTER TABLE model_versions ADD COLUMN model_id TEXT NOT NULL DEFAULT '';
CREATE INDEX model_versions_model ON model_versions(model_id) WHERE model_id != '';
