-- Schedules start runs of a pipeline on a cron (robfig/cron syntax, in a
-- time zone). next_at is the next tick; a server that was down starts one
-- run at its return, never the ticks it missed.
CREATE TABLE pipeline_schedules (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 52),
    pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL DEFAULT 0,
    parameters  TEXT NOT NULL DEFAULT '{}',
    cron        TEXT NOT NULL CHECK (length(cron) BETWEEN 1 AND 256),
    timezone    TEXT NOT NULL DEFAULT 'UTC' CHECK (length(timezone) <= 64),
    policy      TEXT NOT NULL CHECK (policy IN ('Allow', 'Forbid', 'Replace')),
    paused      INTEGER NOT NULL DEFAULT 0,
    next_at     TEXT NOT NULL,
    last_at     TEXT,
    last_run    TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (tenant, name)
);
CREATE INDEX pipeline_schedules_due ON pipeline_schedules(next_at) WHERE paused = 0;
CREATE INDEX pipeline_runs_schedule ON pipeline_runs(tenant, schedule) WHERE state IN ('pending', 'running');
