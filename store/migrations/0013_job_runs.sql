-- A training job is a tracked run: the run (and its experiment) made with the
-- job, and the run-scoped token its pods log with (revoked when it ends).
ALTER TABLE jobs ADD COLUMN experiment_id INTEGER;
ALTER TABLE jobs ADD COLUMN run_id TEXT;
ALTER TABLE jobs ADD COLUMN token_id TEXT;
CREATE INDEX jobs_run ON jobs(tenant, run_id);
-- What a token may do beyond its user's roles: '' (everything its user may),
-- or 'run:<tenant>:<run id>' (write only to that MLflow run; no ferry API).
ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT '';
CREATE INDEX tokens_parent ON tokens(parent_id);
