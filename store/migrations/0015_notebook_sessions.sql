-- Browser access to notebooks. `ferry notebook open` trades an API token for
-- a one-time hand-over code (a minute, single use); the proxy redeems it for
-- a session: a random secret (not the API token) for one notebook's path,
-- bound to the user and to the token it was traded for, so revoking or
-- expiring that token ends it. Only SHA-256 hashes of the secrets are kept.
-- Times are Unix seconds.
CREATE TABLE notebook_handovers (
    hash       TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    notebook   TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_id   TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    FOREIGN KEY (tenant, notebook) REFERENCES notebooks(tenant, name) ON DELETE CASCADE
);
CREATE INDEX notebook_handovers_expiry ON notebook_handovers(expires_at);

CREATE TABLE notebook_sessions (
    hash       TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    notebook   TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_id   TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    FOREIGN KEY (tenant, notebook) REFERENCES notebooks(tenant, name) ON DELETE CASCADE
);
CREATE INDEX notebook_sessions_expiry ON notebook_sessions(expires_at);
CREATE INDEX notebook_sessions_token ON notebook_sessions(token_id);
