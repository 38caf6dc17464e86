-- Who read what: one row per download of an artifact, a model file or a
-- log, written after the request was authenticated and authorized
-- (anonymous requests write nothing). Bounded by age and by row count
-- (store.PruneAccess); a deleted tenant takes its rows with it (the audit
-- log keeps the deletion).
CREATE TABLE access_log (
    id     INTEGER PRIMARY KEY,
    time   INTEGER NOT NULL, -- Unix seconds
    tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    actor  TEXT NOT NULL CHECK (length(actor) <= 64),
    kind   TEXT NOT NULL CHECK (kind IN ('artifact', 'model', 'log')),
    object TEXT NOT NULL CHECK (length(object) <= 512)
);
CREATE INDEX access_log_tenant ON access_log(tenant, id);
CREATE INDEX access_log_time ON access_log(time);
