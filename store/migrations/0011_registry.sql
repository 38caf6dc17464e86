-- Model registry (MLflow's), per tenant: registered models, their numbered
-- versions and aliases (alias -> version).
CREATE TABLE registered_models (
    tenant                 TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    name                   TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    description            TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    user_id                TEXT NOT NULL DEFAULT '',
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

CREATE TABLE registered_model_tags (
    tenant TEXT NOT NULL,
    name   TEXT NOT NULL,
    key    TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    value  TEXT NOT NULL CHECK (length(value) <= 8000),
    PRIMARY KEY (tenant, name, key),
    FOREIGN KEY (tenant, name) REFERENCES registered_models(tenant, name) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;

CREATE TABLE model_versions (
    tenant                 TEXT NOT NULL,
    name                   TEXT NOT NULL,
    version                INTEGER NOT NULL CHECK (version >= 1),
    source                 TEXT NOT NULL CHECK (length(source) <= 1000),
    run_id                 TEXT NOT NULL DEFAULT '',
    run_link               TEXT NOT NULL DEFAULT '' CHECK (length(run_link) <= 500),
    status                 TEXT NOT NULL DEFAULT 'READY' CHECK (status IN ('PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY')),
    status_message         TEXT NOT NULL DEFAULT '',
    current_stage          TEXT NOT NULL DEFAULT 'None',
    description            TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    user_id                TEXT NOT NULL DEFAULT '',
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    PRIMARY KEY (tenant, name, version),
    FOREIGN KEY (tenant, name) REFERENCES registered_models(tenant, name) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
CREATE INDEX model_versions_run ON model_versions(run_id) WHERE run_id != '';

CREATE TABLE model_version_tags (
    tenant  TEXT NOT NULL,
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    key     TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
    value   TEXT NOT NULL CHECK (length(value) <= 8000),
    PRIMARY KEY (tenant, name, version, key),
    FOREIGN KEY (tenant, name, version) REFERENCES model_versions(tenant, name, version) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;

CREATE TABLE model_aliases (
    tenant  TEXT NOT NULL,
    name    TEXT NOT NULL,
    alias   TEXT NOT NULL CHECK (length(alias) BETWEEN 1 AND 256),
    version INTEGER NOT NULL,
    PRIMARY KEY (tenant, name, alias),
    FOREIGN KEY (tenant, name, version) REFERENCES model_versions(tenant, name, version) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
