-- A disabled user's tokens stop working at once; enabling it again brings
-- them back (revoked ones stay revoked).
ALTER TABLE users ADD COLUMN disabled_at TEXT;
-- The token a token was minted with: a child expires no later than its parent.
ALTER TABLE tokens ADD COLUMN parent_id TEXT;
