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
-- Reviews and questions polled from Wildberries, Ozon and Yandex Market (seed 003 §7.3). One row per marketplace
-- item, keyed by (platform, item_type, external_id): YM numbers feedbacks and questions in separate int64
-- sequences, so the type is part of the key. `created_at` is when adolfd stored it (the seed's analytics and
-- archive read it); `source_created_at` is when the customer wrote it.
CREATE TABLE IF NOT EXISTS reputation_items (
    id                bigserial   PRIMARY KEY,
    platform          text        NOT NULL CHECK (platform IN ('wb','ozon','ym')),
    item_type         text        NOT NULL CHECK (item_type IN ('review','question')),
    external_id       text        NOT NULL,
    brand_id          text        NOT NULL,
    sku               text        NOT NULL DEFAULT '',     -- WB nmId, Ozon sku, YM offerId (Ozon answers need it)
    product_name      text        NOT NULL DEFAULT '',
    author            text        NOT NULL DEFAULT '',
    rating            smallint    CHECK (rating BETWEEN 1 AND 5),
    text              text        NOT NULL DEFAULT '',
    pros              text        NOT NULL DEFAULT '',
    cons              text        NOT NULL DEFAULT '',
    source_created_at timestamptz,
    raw               jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status            text        NOT NULL DEFAULT 'new' CHECK (status IN
                          ('new','analyzed','pending_review','approved','publishing','published','failed','skipped')),
    ai_analysis       jsonb,
    analyzed_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    published_at      timestamptz,
    UNIQUE (platform, item_type, external_id)
);
CREATE INDEX IF NOT EXISTS reputation_items_platform_status ON reputation_items (platform, status);
CREATE INDEX IF NOT EXISTS reputation_items_created_at ON reputation_items (created_at);

-- The reply to an item and its publish claim (seed 003 §7.3 generate_response, send_response). A send_response
-- writes `publish_attempt` + `publish_started_at` (item status `publishing`) before it calls the marketplace;
-- `publish_retry_count` counts those attempts (retry_failed_publish stops at 5).
CREATE TABLE IF NOT EXISTS reputation_responses (
    item_id             bigint      PRIMARY KEY REFERENCES reputation_items (id) ON DELETE CASCADE,
    draft_text          text        NOT NULL,
    final_text          text,                               -- the operator's edit, published instead of the draft
    instructions        text,                               -- of the last regeneration
    generated_by        text        NOT NULL,               -- offline | http:<model>
    generation          integer     NOT NULL DEFAULT 1,
    approved_by         text,
    approved_at         timestamptz,
    auto_approved       boolean     NOT NULL DEFAULT false,
    publish_attempt     uuid,
    publish_started_at  timestamptz,
    publish_retry_count integer     NOT NULL DEFAULT 0,
    publish_error       text,
    external_answer_id  text,
    published_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Where the next poll of (platform, item type, brand) starts: the newest item time seen, read back with an overlap.
CREATE TABLE IF NOT EXISTS reputation_poll_cursors (
    platform   text        NOT NULL,
    item_type  text        NOT NULL,
    brand_id   text        NOT NULL,
    cursor     timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, item_type, brand_id)
);

-- Daily figures per platform and brand (seed 003 §7.3 calculate_daily_analytics), upserted.
CREATE TABLE IF NOT EXISTS reputation_analytics (
    date            date          NOT NULL,
    platform        text          NOT NULL,
    brand_id        text          NOT NULL,
    total_items     integer       NOT NULL,
    reviews_count   integer       NOT NULL,
    questions_count integer       NOT NULL,
    positive_count  integer       NOT NULL,
    negative_count  integer       NOT NULL,
    avg_rating      numeric(3,2),
    published_count integer       NOT NULL,
    calculated_at   timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (date, platform, brand_id)
);

-- Published or skipped items older than 365 days (seed 003 §7.3 archive_old_items), with their reply as JSON.
CREATE TABLE IF NOT EXISTS reputation_items_archive (LIKE reputation_items);
ALTER TABLE reputation_items_archive ADD COLUMN IF NOT EXISTS response jsonb;
ALTER TABLE reputation_items_archive ADD COLUMN IF NOT EXISTS archived_at timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX IF NOT EXISTS reputation_items_archive_id ON reputation_items_archive (id);


-- == carsbot (seed 004) ============================================================================

-- == operations: alert delivery ====================================================================
