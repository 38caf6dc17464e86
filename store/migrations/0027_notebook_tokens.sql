-- A running notebook's pod acts as the notebook's creator within its tenant
-- only, with a token scoped to it (store.NotebookScope) that the controller
-- writes to the Secret ferry-notebook-token-<name>. token_written says that
-- Secret holds it: a token minted but never known written is replaced (its
-- secret is kept nowhere). Stopping revokes it; the controller then deletes
-- the Secret and clears token_id.
ALTER TABLE notebooks ADD COLUMN token_id TEXT;
ALTER TABLE notebooks ADD COLUMN token_written INTEGER NOT NULL DEFAULT 0;
-- Deleting a notebook (by hand or with its tenant) revokes its token.
CREATE TRIGGER notebooks_revoke_token AFTER DELETE ON notebooks
WHEN OLD.token_id IS NOT NULL
BEGIN
    UPDATE tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = OLD.token_id AND revoked_at IS NULL;
END;
