-- Model serving. A deployment serves revisions (model versions); spec is
-- the DeploymentSpec as JSON. A revision's role is stable, canary or
-- retired, its weight its share of requests; digest is the sha256 of the
-- model file it loads. Keys are deployment-scoped API keys, stored hashed.
-- Events are the rollout's decisions, shown by `ferry deploy get`.
CREATE TABLE deployments (
    id            INTEGER PRIMARY KEY,
    tenant        TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    spec          TEXT NOT NULL,
    next_revision INTEGER NOT NULL DEFAULT 1,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (tenant, name)
);
CREATE TABLE deployment_revisions (
    deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    number        INTEGER NOT NULL,
    model         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    run_id        TEXT NOT NULL DEFAULT '',
    path          TEXT NOT NULL DEFAULT '',
    digest        TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('stable', 'canary', 'retired')),
    weight        INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 100),
    replicas      INTEGER NOT NULL DEFAULT 0,
    ready         INTEGER NOT NULL DEFAULT 0,
    stage_since   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (deployment_id, number)
);
CREATE TABLE deployment_keys (
    id            TEXT PRIMARY KEY,
    deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    hash          TEXT NOT NULL UNIQUE,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX deployment_keys_deployment ON deployment_keys(deployment_id);
CREATE TABLE deployment_events (
    id            INTEGER PRIMARY KEY,
    deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    at            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    message       TEXT NOT NULL
);
CREATE INDEX deployment_events_deployment ON deployment_events(deployment_id, id);
