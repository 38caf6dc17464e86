-- Pipelines: a named pipeline per tenant with numbered, immutable versions
-- of its spec (canonical JSON and its sha256), and the experiment its runs
-- are tracked in.
CREATE TABLE pipelines (
    id             INTEGER PRIMARY KEY,
    tenant         TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 52),
    description    TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 4096),
    latest_version INTEGER NOT NULL DEFAULT 0,
    experiment_id  INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (tenant, name)
);

CREATE TABLE pipeline_versions (
    pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version >= 1),
    digest      TEXT NOT NULL CHECK (length(digest) = 64),
    spec        TEXT NOT NULL CHECK (length(spec) <= 262144),
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (pipeline_id, version)
) WITHOUT ROWID;

-- A pipeline run is a tracking run (run_uuid); id is the submission order.
CREATE TABLE pipeline_runs (
    id          INTEGER PRIMARY KEY,
    run_uuid    TEXT NOT NULL UNIQUE REFERENCES runs(run_uuid) ON DELETE CASCADE,
    tenant      TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    parameters  TEXT NOT NULL DEFAULT '{}',
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    reason      TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024),
    schedule    TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    updated_at  TEXT NOT NULL
);
CREATE INDEX pipeline_runs_tenant ON pipeline_runs(tenant, id);
CREATE INDEX pipeline_runs_pipeline ON pipeline_runs(pipeline_id, id);
CREATE INDEX pipeline_runs_tenant_state ON pipeline_runs(tenant, state, id);
CREATE INDEX pipeline_runs_active ON pipeline_runs(id) WHERE state IN ('pending', 'running');

-- One row per step, or per item of a fan-out (name step[i]).
CREATE TABLE pipeline_steps (
    run_id      INTEGER NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    step        TEXT NOT NULL,
    item        INTEGER,
    item_value  TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'skipped', 'cached')),
    reason      TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024),
    attempt     INTEGER NOT NULL DEFAULT 0,
    pod         TEXT NOT NULL DEFAULT '',
    child_run   TEXT NOT NULL DEFAULT '',
    token_id    TEXT NOT NULL DEFAULT '',
    cache_key   TEXT NOT NULL DEFAULT '',
    cached_from TEXT NOT NULL DEFAULT '',
    outputs     TEXT NOT NULL DEFAULT '{}',
    image_id    TEXT NOT NULL DEFAULT '',
    log_saved   INTEGER NOT NULL DEFAULT 0,
    retry_at    TEXT,
    started_at  TEXT,
    finished_at TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

-- The step cache: a key (see runtime/pipelines CacheKey) → the outputs of
-- the step that produced it and the run it was in.
CREATE TABLE pipeline_cache (
    tenant     TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    key        TEXT NOT NULL CHECK (length(key) = 64),
    run_uuid   TEXT NOT NULL,
    step       TEXT NOT NULL,
    outputs    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, key)
) WITHOUT ROWID;

-- The image digest a node last resolved for an image reference (pod
-- status imageID), so that a step's cache key can name the digest before
-- its pod exists.
CREATE TABLE pipeline_images (
    tenant   TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    image    TEXT NOT NULL,
    image_id TEXT NOT NULL,
    seen_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, image)
) WITHOUT ROWID;
