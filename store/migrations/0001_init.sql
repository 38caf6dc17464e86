CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    admin      INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);
CREATE INDEX tokens_user ON tokens(user_id, id);

CREATE TABLE tenants (
    name         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    quota_cpu    TEXT NOT NULL,
    quota_memory TEXT NOT NULL,
    quota_gpu    INTEGER NOT NULL CHECK (quota_gpu >= 0),
    generation   INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE memberships (
    tenant  TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    PRIMARY KEY (tenant, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id, tenant);

-- The audit log is append-only and hash-chained: hash = sha256(prev_hash, id, content).
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    tenant    TEXT NOT NULL DEFAULT '',
    target    TEXT NOT NULL DEFAULT '',
    result    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit(tenant, id);
CREATE INDEX audit_actor ON audit(actor, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
