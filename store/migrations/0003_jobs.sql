-- Training jobs. id is the submission order (admission is first come, first
-- served within a tenant). spec is the submitted JobSpec as JSON; replicas is
-- the per-replica state read back from Kubernetes.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    reason      TEXT NOT NULL DEFAULT '',
    replicas    TEXT NOT NULL DEFAULT '[]',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    admitted_at TEXT,
    started_at  TEXT,
    finished_at TEXT,
    updated_at  TEXT NOT NULL,
    UNIQUE (tenant, name)
);
CREATE INDEX jobs_tenant ON jobs(tenant, id);
CREATE INDEX jobs_state ON jobs(state, id);
