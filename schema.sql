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
-- The 1C extractor loads one extract a day (06:00 MSK, seed 000 §8.5) into these tables; adolfd only reads
-- them (sync_brain_stocks, check_brain_freshness). Every row carries the extract's day and its loaded_at;
-- re-loading a day replaces that day's rows. `article` is the seller's article = Ozon offer_id.
CREATE TABLE IF NOT EXISTS brain_stock_balance (
    id             bigserial   PRIMARY KEY,
    extract_date   date        NOT NULL,                -- Moscow day of the extract
    brand_id       text        NOT NULL,
    article        text        NOT NULL,
    product_name   text        NOT NULL DEFAULT '',
    warehouse_name text        NOT NULL,                -- internal 1C warehouse
    quantity       integer     NOT NULL,                -- free balance in units; negative = 1C data error
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (extract_date, article, warehouse_name)
);
CREATE INDEX IF NOT EXISTS brain_stock_balance_loaded_at ON brain_stock_balance (loaded_at);

CREATE TABLE IF NOT EXISTS brain_customer_orders (
    id            bigserial     PRIMARY KEY,
    extract_date  date          NOT NULL,
    brand_id      text          NOT NULL,
    order_number  text          NOT NULL,
    order_date    date          NOT NULL,
    customer_name text          NOT NULL,
    article       text          NOT NULL,
    quantity      integer       NOT NULL,
    amount        numeric(14,2) NOT NULL,               -- roubles
    status        text          NOT NULL,               -- 1C status text (К обеспечению, К отгрузке, Закрыт)
    loaded_at     timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (extract_date, order_number, article)
);
CREATE INDEX IF NOT EXISTS brain_customer_orders_loaded_at ON brain_customer_orders (loaded_at);

CREATE TABLE IF NOT EXISTS brain_supplier_orders (
    id            bigserial     PRIMARY KEY,
    extract_date  date          NOT NULL,
    brand_id      text          NOT NULL,
    order_number  text          NOT NULL,
    order_date    date          NOT NULL,
    supplier_name text          NOT NULL,
    article       text          NOT NULL,
    quantity      integer       NOT NULL,
    amount        numeric(14,2) NOT NULL,
    expected_date date,                                 -- expected arrival at the 1C warehouse
    status        text          NOT NULL,               -- Согласован, В пути, Закрыт
    loaded_at     timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (extract_date, order_number, article)
);
CREATE INDEX IF NOT EXISTS brain_supplier_orders_loaded_at ON brain_supplier_orders (loaded_at);

CREATE TABLE IF NOT EXISTS brain_goods_receipts (
    id              bigserial     PRIMARY KEY,
    extract_date    date          NOT NULL,
    brand_id        text          NOT NULL,
    document_number text          NOT NULL,
    receipt_date    date          NOT NULL,
    supplier_name   text          NOT NULL,
    article         text          NOT NULL,
    warehouse_name  text          NOT NULL,
    quantity        integer       NOT NULL,
    amount          numeric(14,2) NOT NULL,
    loaded_at       timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (extract_date, document_number, article)
);
CREATE INDEX IF NOT EXISTS brain_goods_receipts_loaded_at ON brain_goods_receipts (loaded_at);


-- == logistic (seed 000) ===========================================================================

-- == watcher (seed 001) ============================================================================

-- == marketing (seed 002) ==========================================================================

-- == reputation (seed 003) =========================================================================

-- == carsbot (seed 004) ============================================================================

-- == operations: alert delivery ====================================================================
