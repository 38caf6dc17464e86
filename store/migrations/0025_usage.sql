-- Resource use of every workload (job, notebook, pipeline step, serving
-- revision), sampled from the kubelets' Summary API by runtime/monitor.
-- A workload is one ferry object; its pods' samples are summed. Points are
-- kept in three tiers: raw samples (tier 0, an hour), one-minute buckets
-- (tier 1, a day) and fifteen-minute buckets (tier 2, the retention). A
-- bucket holds sums and a count (mean = sum / n) and the peaks. Rows are
-- integers only (SQLite stores 0 in no bytes), keyed without a rowid.
-- A workload not seen for the retention is deleted with its points; a
-- deleted tenant takes its workloads with it.
CREATE TABLE usage_workloads (
    id             INTEGER PRIMARY KEY,
    tenant         TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('job', 'notebook', 'step', 'revision')),
    name           TEXT NOT NULL CHECK (length(name) <= 160),
    cpu_request    INTEGER NOT NULL DEFAULT 0, -- millicores, all pods
    memory_request INTEGER NOT NULL DEFAULT 0, -- bytes, all pods
    gpu_request    INTEGER NOT NULL DEFAULT 0,
    pods           INTEGER NOT NULL DEFAULT 0,
    first_seen     INTEGER NOT NULL, -- Unix seconds
    last_seen      INTEGER NOT NULL,
    UNIQUE (tenant, kind, name)
);
CREATE INDEX usage_workloads_last_seen ON usage_workloads(last_seen);

CREATE TABLE usage_points (
    workload INTEGER NOT NULL REFERENCES usage_workloads(id) ON DELETE CASCADE,
    tier     INTEGER NOT NULL,
    t        INTEGER NOT NULL, -- Unix seconds: the sample, or the bucket's start
    n        INTEGER NOT NULL, -- samples in the bucket
    cpu      INTEGER NOT NULL, -- sum of nanocores
    cpu_max  INTEGER NOT NULL,
    mem      INTEGER NOT NULL, -- sum of working-set bytes
    mem_max  INTEGER NOT NULL,
    gpu      INTEGER NOT NULL, -- sum of accelerator duty cycle, percent (100 = one GPU busy)
    gpu_max  INTEGER NOT NULL,
    PRIMARY KEY (workload, tier, t)
) WITHOUT ROWID;

-- The sampler's last pass: workloads seen in it are live (ferry top), and
-- a pass older than a few intervals means no sampler runs.
CREATE TABLE usage_ticks (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    at       INTEGER NOT NULL,
    interval INTEGER NOT NULL -- seconds
);
