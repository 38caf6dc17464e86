-- Dashboard login. `ferry ui` trades an API token for a one-time code (a
-- minute, single use); the dashboard redeems it for a session, which is a
-- short-lived child token of the token the code was traded for (so revoking
-- that token, or the session's own, ends it). Only SHA-256 hashes are kept.
-- Times are Unix seconds.
CREATE TABLE ui_handovers (
    hash       TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_id   TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX ui_handovers_expiry ON ui_handovers(expires_at);
