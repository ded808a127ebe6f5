-- adolfd schema: every table and SQL function, idempotent (applied by `adolfd migrate` on every start).
-- Sections are per module; each statement must be safe to run again (IF NOT EXISTS, CREATE OR REPLACE).

-- == platform: job bookkeeping, alerts ============================================================
-- Jobs that exhausted their tries (the seeds' dead-letter queue). One row per failed execution.
CREATE TABLE IF NOT EXISTS failed_jobs (
    id           bigserial PRIMARY KEY,
    job_id       text        NOT NULL,
    module       text        NOT NULL,
    job_name     text        NOT NULL,
    queue        text        NOT NULL,
    args         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error        text        NOT NULL,
    traceback    text,
    tries        integer     NOT NULL,
    failed_at    timestamptz NOT NULL DEFAULT now(),
    retried_at   timestamptz,
    retry_job_id text,
    UNIQUE (job_id, tries)
);
CREATE INDEX IF NOT EXISTS failed_jobs_open ON failed_jobs (failed_at DESC) WHERE retried_at IS NULL;

-- Alerts of every module; a dedup_key keeps one open alert per key.
CREATE TABLE IF NOT EXISTS alerts (
    id                bigserial PRIMARY KEY,
    module            text        NOT NULL,
    alert_type        text        NOT NULL,
    severity          text        NOT NULL CHECK (severity IN ('info','low','medium','warning','high','critical')),
    brand_id          text,
    message           text        NOT NULL,
    details           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    dedup_key         text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    resolved_at       timestamptz,
    delivered_at      timestamptz,
    delivery_attempts integer     NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_dedup ON alerts (module, dedup_key)
    WHERE resolved_at IS NULL AND dedup_key IS NOT NULL;
-- One row per cron fire time, claimed by the first scheduler that gets there (any host).
CREATE TABLE IF NOT EXISTS cron_fires (
    module     text        NOT NULL,
    name       text        NOT NULL,
    fire_time  timestamptz NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (module, name, fire_time)
);

CREATE INDEX IF NOT EXISTS alerts_undelivered ON alerts (created_at) WHERE delivered_at IS NULL;

-- == 1C extractor tables (brain_*): written by the extractor, read by adolfd =========================

-- == logistic (seed 000) ===========================================================================

-- == watcher (seed 001) ============================================================================

-- == marketing (seed 002) ==========================================================================

-- == reputation (seed 003) =========================================================================

-- == carsbot (seed 004) ============================================================================

-- == operations: alert delivery ====================================================================
