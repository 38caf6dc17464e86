-- A tenant's notebooks are stopped after this many seconds without use.
ALTER TABLE tenants ADD COLUMN notebook_idle_seconds INTEGER NOT NULL DEFAULT 3600 CHECK (notebook_idle_seconds >= 0);

CREATE TABLE notebooks (
    tenant        TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    image         TEXT NOT NULL,
    cpu           TEXT NOT NULL,
    memory        TEXT NOT NULL,
    gpu           INTEGER NOT NULL DEFAULT 0 CHECK (gpu >= 0),
    workspace     TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('running', 'stopped')),
    reason        TEXT NOT NULL DEFAULT '',
    last_activity TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
);
