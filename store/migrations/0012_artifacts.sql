-- Artifacts are content-addressed: one blob per sha256 in the bucket
-- (artifacts/sha256/<hex>), whatever the number of runs that reference it;
-- a run's tree maps relative paths to digests.
CREATE TABLE artifact_blobs (
    digest     TEXT PRIMARY KEY CHECK (length(digest) = 64),
    size       INTEGER NOT NULL CHECK (size >= 0),
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE run_artifacts (
    run_uuid   TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    path       TEXT NOT NULL CHECK (length(path) BETWEEN 1 AND 1000),
    digest     TEXT NOT NULL REFERENCES artifact_blobs(digest),
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, path)
) WITHOUT ROWID;
CREATE INDEX run_artifacts_digest ON run_artifacts(digest);
