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
-- Who read (acknowledged) or closed an alert by hand (`bot:<user>`, `cli:<user>`); a module's retention
-- deletes read alerts (seed 000 §8.4.8).
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS acknowledged_at timestamptz;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS acknowledged_by text;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS resolved_by text;
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
-- Ozon catalogue per brand (sync_ozon_stocks): seller article (offer_id = 1C article) ↔ SKU. It is the
-- catalogue 1C rows are mapped against (sync_brain_stocks: unknown article → unmapped).
CREATE TABLE IF NOT EXISTS logistic_products (
    brand_id   text        NOT NULL,
    article    text        NOT NULL,
    sku        bigint      NOT NULL,
    product_id bigint      NOT NULL,
    name       text        NOT NULL DEFAULT '',
    synced_at  timestamptz NOT NULL,
    PRIMARY KEY (brand_id, article)
);
CREATE INDEX IF NOT EXISTS logistic_products_sku ON logistic_products (brand_id, sku);

-- FBO clusters (sync_ozon_warehouses, seed 000 §8.4.3); a cluster Ozon stops listing is kept, inactive.
CREATE TABLE IF NOT EXISTS logistic_clusters (
    cluster_id            bigint      PRIMARY KEY,
    name                  text        NOT NULL,
    cluster_type          text        NOT NULL,
    macrolocal_cluster_id bigint,
    warehouses            jsonb       NOT NULL DEFAULT '[]'::jsonb,
    is_active             boolean     NOT NULL DEFAULT true,
    synced_at             timestamptz NOT NULL
);

-- Ordered units per SKU over the 28 full days ending period_to (sync_ozon_analytics, seed 000 §8.4.2).
-- SKUs without orders have no row: their velocity is 0.
CREATE TABLE IF NOT EXISTS logistic_sales_analytics (
    brand_id      text        NOT NULL,
    sku           bigint      NOT NULL,
    period_from   date        NOT NULL,
    period_to     date        NOT NULL,
    ordered_units integer     NOT NULL CHECK (ordered_units >= 0),
    synced_at     timestamptz NOT NULL,
    PRIMARY KEY (brand_id, period_to, sku)
);

-- FBO stock per article and cluster, one row per 30-minute slot (sync_ozon_stocks, seed 000 §8.4.1);
-- a retry in the same slot overwrites. ordered_units_28d is the article's analytics share of this cluster.
CREATE TABLE IF NOT EXISTS cluster_stock_snapshots (
    brand_id               text          NOT NULL,
    slot                   timestamptz   NOT NULL,
    sku                    bigint        NOT NULL,
    cluster_id             bigint        NOT NULL,
    article                text          NOT NULL,
    cluster_name           text          NOT NULL,
    fbo_stock              integer       NOT NULL CHECK (fbo_stock >= 0),
    in_transit             integer       NOT NULL CHECK (in_transit >= 0),
    ordered_units_28d      integer       NOT NULL CHECK (ordered_units_28d >= 0),
    avg_daily_sales        numeric(12,4) NOT NULL,
    days_of_stock          numeric(12,2),                   -- NULL: nothing sells (infinite)
    ads_cluster            numeric(12,2) NOT NULL DEFAULT 0, -- Ozon's own figures, kept for comparison
    turnover_grade_cluster text          NOT NULL DEFAULT '',
    captured_at            timestamptz   NOT NULL,
    PRIMARY KEY (brand_id, slot, sku, cluster_id)
);
CREATE INDEX IF NOT EXISTS cluster_stock_snapshots_slot ON cluster_stock_snapshots (slot);

-- Internal 1C warehouse stock, from validated brain_stock_balance rows (sync_brain_stocks, seed 000 §8.4.4).
CREATE TABLE IF NOT EXISTS warehouse_stocks (
    brand_id       text        NOT NULL,
    article        text        NOT NULL,
    warehouse_name text        NOT NULL,
    quantity       integer     NOT NULL CHECK (quantity >= 0),
    extract_date   date        NOT NULL,
    loaded_at      timestamptz NOT NULL,
    synced_at      timestamptz NOT NULL,
    PRIMARY KEY (brand_id, article, warehouse_name)
);

-- One row per article, warehouse and day; a second sync the same day overwrites that day's row.
CREATE TABLE IF NOT EXISTS logistic_stock_history (
    brand_id       text        NOT NULL,
    article        text        NOT NULL,
    warehouse_name text        NOT NULL,
    stock_date     date        NOT NULL,
    quantity       integer     NOT NULL,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (brand_id, article, warehouse_name, stock_date)
);
CREATE INDEX IF NOT EXISTS logistic_stock_history_date ON logistic_stock_history (stock_date);

-- 1C rows held back as anomalies (negative, or a sudden change); the next extract repeating a sudden
-- change confirms it (adolfd/domain/brain_validation.py).
CREATE TABLE IF NOT EXISTS logistic_brain_anomalies (
    brand_id       text        NOT NULL,
    article        text        NOT NULL,
    warehouse_name text        NOT NULL,
    extract_date   date        NOT NULL,
    quantity       integer     NOT NULL,
    previous       integer,
    reason         text        NOT NULL,
    detected_at    timestamptz NOT NULL,
    PRIMARY KEY (brand_id, article, warehouse_name, extract_date)
);

-- Supply tasks (generate_supply_tasks, seed 000 §8.4.5). One open task (new / confirmed / in_progress)
-- per brand, article and cluster, enforced here as well as by the planner.
CREATE TABLE IF NOT EXISTS supply_tasks (
    id              bigserial     PRIMARY KEY,
    task_number     text          NOT NULL UNIQUE,          -- SUP-YYYYMMDD-NNNN
    plan_date       date          NOT NULL,
    brand_id        text          NOT NULL,
    article         text          NOT NULL,
    sku             bigint,
    cluster_id      bigint        NOT NULL,
    cluster_name    text          NOT NULL,
    quantity        integer       NOT NULL CHECK (quantity > 0),
    deficit         integer       NOT NULL CHECK (deficit > 0),
    target_stock    integer       NOT NULL,
    fbo_stock       integer       NOT NULL,
    in_transit      integer       NOT NULL,
    avg_daily_sales numeric(12,4) NOT NULL,
    days_of_stock   numeric(12,2),
    priority        text          NOT NULL CHECK (priority IN ('urgent', 'planned', 'recommended')),
    coverage        text          NOT NULL CHECK (coverage IN ('full', 'partial')),
    status          text          NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'confirmed', 'in_progress', 'completed', 'cancelled')),
    created_at      timestamptz   NOT NULL,
    updated_at      timestamptz   NOT NULL,
    cancelled_at    timestamptz,
    cancel_reason   text
);
CREATE UNIQUE INDEX IF NOT EXISTS supply_tasks_one_open ON supply_tasks (brand_id, article, cluster_id)
    WHERE status IN ('new', 'confirmed', 'in_progress');
CREATE INDEX IF NOT EXISTS supply_tasks_new ON supply_tasks (created_at) WHERE status = 'new';
-- What people did with a task (adolfd logistic confirm|start|complete|cancel, the bot's buttons).
ALTER TABLE supply_tasks ADD COLUMN IF NOT EXISTS quantity_sent integer CHECK (quantity_sent IS NULL OR quantity_sent > 0);
ALTER TABLE supply_tasks ADD COLUMN IF NOT EXISTS confirmed_at timestamptz;
ALTER TABLE supply_tasks ADD COLUMN IF NOT EXISTS shipped_at timestamptz;
ALTER TABLE supply_tasks ADD COLUMN IF NOT EXISTS completed_at timestamptz;
-- One row per action on a task, with who did it (`cli:<user>`, `telegram:<user>`, `auto` for auto-cancel).
CREATE TABLE IF NOT EXISTS supply_task_actions (
    id            bigserial   PRIMARY KEY,
    task_number   text        NOT NULL REFERENCES supply_tasks (task_number) ON DELETE CASCADE,
    action        text        NOT NULL CHECK (action IN ('confirm', 'start', 'complete', 'cancel')),
    from_status   text        NOT NULL,
    to_status     text        NOT NULL,
    actor         text        NOT NULL,
    quantity_sent integer,
    reason        text,
    acted_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS supply_task_actions_task ON supply_task_actions (task_number, acted_at);

-- When each input of generate_supply_tasks last arrived, per brand (DOMAIN.md "Inputs before outputs").
-- Written only when a sync applied data: a `stale` brain sync does not count as today's.
CREATE TABLE IF NOT EXISTS logistic_sync_state (
    brand_id  text        NOT NULL,
    input     text        NOT NULL CHECK (input IN ('sync_brain_stocks', 'sync_ozon_analytics', 'sync_ozon_stocks')),
    synced_at timestamptz NOT NULL,
    details   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (brand_id, input)
);

-- Retention (seed 000 §8.4.8): rows older than `days` before `as_of`; returns what it deleted per table.
CREATE OR REPLACE FUNCTION logistic_cleanup_old_data(days integer, as_of timestamptz DEFAULT now())
RETURNS TABLE (snapshots_deleted bigint, history_deleted bigint, analytics_deleted bigint,
               anomalies_deleted bigint, alerts_deleted bigint, tasks_deleted bigint)
LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'logistic_cleanup_old_data: days must be >= 1, got %', days;
    END IF;
    cutoff := as_of - make_interval(days => days);
    DELETE FROM cluster_stock_snapshots WHERE slot < cutoff;
    GET DIAGNOSTICS snapshots_deleted = ROW_COUNT;
    DELETE FROM logistic_stock_history WHERE stock_date < (cutoff AT TIME ZONE 'Europe/Moscow')::date;
    GET DIAGNOSTICS history_deleted = ROW_COUNT;
    DELETE FROM logistic_sales_analytics WHERE period_to < (cutoff AT TIME ZONE 'Europe/Moscow')::date;
    GET DIAGNOSTICS analytics_deleted = ROW_COUNT;
    DELETE FROM logistic_brain_anomalies WHERE detected_at < cutoff;
    GET DIAGNOSTICS anomalies_deleted = ROW_COUNT;
    -- read alerts (seed 000 §8.4.8): resolved, acknowledged by a person, or delivered to the chats, older than
    -- the cutoff; an open alert nobody resolves goes too once read (raised again if its condition still holds)
    DELETE FROM alerts WHERE module = 'logistic' AND (resolved_at < cutoff
        OR (created_at < cutoff AND (acknowledged_at IS NOT NULL OR delivered_at IS NOT NULL)));
    GET DIAGNOSTICS alerts_deleted = ROW_COUNT;
    DELETE FROM supply_tasks WHERE status IN ('completed', 'cancelled') AND updated_at < cutoff;
    GET DIAGNOSTICS tasks_deleted = ROW_COUNT;
    RETURN NEXT;
END;
$$;

-- == marketing (seed 002) ==========================================================================
-- Money columns are roubles NUMERIC(…,2), as the seed's SQL computes with them (§7.3.5); the code works in
-- kopecks and converts at this boundary. Percent columns (targets, CTR, DRR) are percent values.

-- The seed's core users (role, brand) to whom marketing alerts go (seed 002 §7.3.7); `brand_id` 'all' = every brand.
CREATE TABLE IF NOT EXISTS users (
    id               bigserial   PRIMARY KEY,
    name             text        NOT NULL,
    role             text        NOT NULL CHECK (role IN ('manager','senior','director','administrator','admin')),
    brand_id         text        NOT NULL DEFAULT 'all',
    telegram_chat_id bigint,
    is_active        boolean     NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Advertising campaigns of every marketplace; strategy and limits are the operator's, the rest is synced.
CREATE TABLE IF NOT EXISTS marketing_campaigns (
    id              bigserial     PRIMARY KEY,
    brand_id        text          NOT NULL,
    marketplace     text          NOT NULL CHECK (marketplace IN ('wb','ozon','ym')),
    external_id     text          NOT NULL,
    name            text          NOT NULL DEFAULT '',
    status          text          NOT NULL DEFAULT 'active' CHECK (status IN ('active','paused','archived')),
    mp_status       text,                       -- the marketplace's own state (WB 9/11, CAMPAIGN_STATE_RUNNING …)
    paused_by       text,                       -- budget | safety | marketplace | operator, when status = paused
    paused_at       timestamptz,
    strategy_type   text          NOT NULL DEFAULT 'manual' CHECK (strategy_type IN ('position','drr','cpo','manual')),
    target_position integer       CHECK (target_position IS NULL OR target_position >= 1),
    target_drr      numeric(6,2)  CHECK (target_drr IS NULL OR target_drr > 0),
    target_cpo      numeric(12,2) CHECK (target_cpo IS NULL OR target_cpo > 0),
    max_bid         numeric(12,2) NOT NULL CHECK (max_bid > 0),
    daily_limit     numeric(14,2) CHECK (daily_limit IS NULL OR daily_limit >= 0),
    spent_today     numeric(14,2) NOT NULL DEFAULT 0,
    revenue_today   numeric(14,2) NOT NULL DEFAULT 0,
    spent_date      date,                       -- the Moscow day spent_today/revenue_today belong to
    bid_type        text,                       -- WB: unified | manual
    payment_type    text,                       -- WB: cpm | cpc; Ozon: CPC
    synced_at       timestamptz,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (marketplace, brand_id, external_id)
);
CREATE INDEX IF NOT EXISTS marketing_campaigns_active ON marketing_campaigns (marketplace) WHERE status = 'active';

-- Bid-able units, the seed's "keywords": a WB product in a campaign (placement combined/search/recommendations),
-- an Ozon SKU in a CPC campaign, a YM shop SKU in the business's boost campaign (docs/external-apis.md).
CREATE TABLE IF NOT EXISTS marketing_keywords (
    id             bigserial     PRIMARY KEY,
    campaign_id    bigint        NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    external_id    text          NOT NULL,
    keyword        text          NOT NULL DEFAULT '',
    placement      text,
    status         text          NOT NULL DEFAULT 'active' CHECK (status IN ('active','paused','removed')),
    pause_reason   text,
    current_bid    numeric(12,2) NOT NULL DEFAULT 0,
    min_bid        numeric(12,2),               -- the marketplace minimum; NULL until a campaign sync reads it
    price          numeric(12,2),               -- YM: the item price its bid is a share of
    synced_at      timestamptz,                 -- when a marketplace listing last changed the row
    created_at     timestamptz   NOT NULL DEFAULT now(),
    updated_at     timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, external_id)
);
-- When adolfd last set current_bid from a bid the marketplace confirmed: a campaign read that began earlier saw an
-- older bid and must not write it over this one.
ALTER TABLE marketing_keywords ADD COLUMN IF NOT EXISTS bid_set_at timestamptz;
-- A unit the bid cycle stores before any campaign sync has read its minimum has none (NULL), not 0: the cycle
-- leaves it alone rather than send a bid the marketplace would refuse, and with it the whole request it rode in.
ALTER TABLE marketing_keywords ALTER COLUMN min_bid DROP NOT NULL, ALTER COLUMN min_bid DROP DEFAULT;
-- Every bid cycle rewrites the current bid of most rows: with half of each page free, the new version stays on
-- the row's page and the two indexes are left alone (a HOT update: ~4 ms instead of ~9 ms per 1 000 rows).
ALTER TABLE marketing_keywords SET (fillfactor = 50);

-- Competitor bids per marketplace item: written by Watcher (source 'watcher') and by sync_campaigns from the
-- marketplace's own competitive-bid data (source 'ozon_competitive'); the bid cycle takes the freshest.
CREATE TABLE IF NOT EXISTS marketing_competitor_bids (
    marketplace text          NOT NULL CHECK (marketplace IN ('wb','ozon','ym')),
    external_id text          NOT NULL,
    source      text          NOT NULL,
    bid         numeric(12,2) NOT NULL CHECK (bid >= 0),
    observed_at timestamptz   NOT NULL,
    PRIMARY KEY (marketplace, external_id, source)
);

-- Day figures per campaign (keyword_id NULL) and per keyword, as the marketplace reports them so far that day.
-- One row per (campaign, keyword, day): a later collection replaces the figures, a repeated one changes nothing.
CREATE TABLE IF NOT EXISTS marketing_stats (
    id           bigserial     PRIMARY KEY,
    campaign_id  bigint        NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    keyword_id   bigint        REFERENCES marketing_keywords (id) ON DELETE CASCADE,
    marketplace  text          NOT NULL,
    brand_id     text          NOT NULL,
    stat_date    date          NOT NULL,
    collected_at timestamptz   NOT NULL DEFAULT now(),
    views        bigint        NOT NULL DEFAULT 0,
    clicks       bigint        NOT NULL DEFAULT 0,
    spent        numeric(14,2) NOT NULL DEFAULT 0,
    orders       integer       NOT NULL DEFAULT 0,
    revenue      numeric(14,2) NOT NULL DEFAULT 0,
    avg_position numeric(8,2),
    raw_data     jsonb,
    CONSTRAINT marketing_stats_unit_day UNIQUE NULLS NOT DISTINCT (campaign_id, keyword_id, stat_date)
);
CREATE INDEX IF NOT EXISTS marketing_stats_collected ON marketing_stats (collected_at);
CREATE INDEX IF NOT EXISTS marketing_stats_keyword_day ON marketing_stats (keyword_id, stat_date);

CREATE TABLE IF NOT EXISTS marketing_stats_daily (
    id           bigserial     PRIMARY KEY,
    campaign_id  bigint        NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    keyword_id   bigint        REFERENCES marketing_keywords (id) ON DELETE CASCADE,
    marketplace  text          NOT NULL,
    brand_id     text          NOT NULL,
    stat_date    date          NOT NULL,
    views        bigint        NOT NULL DEFAULT 0,
    clicks       bigint        NOT NULL DEFAULT 0,
    ctr          numeric(8,2)  NOT NULL DEFAULT 0,
    spent        numeric(14,2) NOT NULL DEFAULT 0,
    cpc          numeric(12,2) NOT NULL DEFAULT 0,
    orders       integer       NOT NULL DEFAULT 0,
    revenue      numeric(14,2) NOT NULL DEFAULT 0,
    cpo          numeric(12,2) NOT NULL DEFAULT 0,
    drr          numeric(8,2)  NOT NULL DEFAULT 0,
    avg_position numeric(8,2),
    aggregated_at timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT marketing_stats_daily_unit_day UNIQUE NULLS NOT DISTINCT (campaign_id, keyword_id, stat_date)
);
CREATE INDEX IF NOT EXISTS marketing_stats_daily_date ON marketing_stats_daily (stat_date);

CREATE TABLE IF NOT EXISTS marketing_stats_monthly (
    id          bigserial     PRIMARY KEY,
    campaign_id bigint        NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    marketplace text          NOT NULL,
    brand_id    text          NOT NULL,
    stat_year   integer       NOT NULL,
    stat_month  integer       NOT NULL CHECK (stat_month BETWEEN 1 AND 12),
    views       bigint        NOT NULL DEFAULT 0,
    clicks      bigint        NOT NULL DEFAULT 0,
    avg_ctr     numeric(8,2)  NOT NULL DEFAULT 0,
    spent       numeric(14,2) NOT NULL DEFAULT 0,
    avg_cpc     numeric(12,2) NOT NULL DEFAULT 0,
    orders      integer       NOT NULL DEFAULT 0,
    revenue     numeric(14,2) NOT NULL DEFAULT 0,
    avg_cpo     numeric(12,2) NOT NULL DEFAULT 0,
    avg_drr     numeric(8,2)  NOT NULL DEFAULT 0,
    active_days integer       NOT NULL DEFAULT 0,
    UNIQUE (campaign_id, stat_year, stat_month)
);

-- Every bid adolfd sends. `change_key` makes a change happen once: the bid cycle keys it by
-- (keyword, cycle slot), apply_bid_change by its request id. pending → applied | failed | unknown (timed out:
-- the marketplace may or may not have it; the next read of the bids settles current_bid).
CREATE TABLE IF NOT EXISTS marketing_bid_history (
    id          bigserial     PRIMARY KEY,
    keyword_id  bigint        NOT NULL,     -- marketing_keywords.id; no foreign key, see below
    campaign_id bigint        NOT NULL,     -- the keyword's campaign
    marketplace text          NOT NULL,
    brand_id    text          NOT NULL,
    old_bid     numeric(12,2) NOT NULL,
    new_bid     numeric(12,2) NOT NULL,
    source      text          NOT NULL CHECK (source IN ('bid_cycle','manual','resume')),
    strategy    text,
    reason      text,
    change_key  text          NOT NULL UNIQUE,
    status      text          NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','applied','failed','unknown')),
    error       text,
    created_at  timestamptz   NOT NULL DEFAULT now(),
    applied_at  timestamptz
);
CREATE INDEX IF NOT EXISTS marketing_bid_history_created ON marketing_bid_history (created_at);
CREATE INDEX IF NOT EXISTS marketing_bid_history_keyword ON marketing_bid_history (keyword_id, created_at DESC);
-- No foreign keys: the history is the record of bids sent to a marketplace, money spent, and it is kept for its
-- retention period even if an operator deletes the campaign or keyword it names (nothing in adolfd deletes
-- either; a removed unit is marked 'removed'). Its rows are written only by the bid cycle and the bid-change jobs,
-- with ids they have just read. A key checked every claimed row (a lookup and a row lock each, up to 1 000 a
-- statement, ten statements a WB cycle) and cost the claim about a third of its time.
ALTER TABLE marketing_bid_history DROP CONSTRAINT IF EXISTS marketing_bid_history_campaign_id_fkey;
ALTER TABLE marketing_bid_history DROP CONSTRAINT IF EXISTS marketing_bid_history_keyword_id_fkey;
-- Every claimed change is updated once more when its request is answered (applied, failed): with room left on
-- each page, the new version stays on the row's page and the four indexes are left alone (a HOT update).
ALTER TABLE marketing_bid_history SET (fillfactor = 50);

-- The bid-cycle kill switch (DOMAIN.md "Marketing"): one row while bids are paused, none while the cycle runs.
-- Its record is here, not in Redis, so a Redis restart without persistence cannot lift a pause.
CREATE TABLE IF NOT EXISTS marketing_bid_pause (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    paused_by  text        NOT NULL,
    paused_at  timestamptz NOT NULL,
    reason     text        NOT NULL DEFAULT ''
);

-- The seed's MarketingAlert (§7.3.7). `dedup_key` keeps one row per condition and day (CAP_BID, low CTR …).
CREATE TABLE IF NOT EXISTS marketing_alerts (
    id           bigserial   PRIMARY KEY,
    campaign_id  bigint      REFERENCES marketing_campaigns (id) ON DELETE SET NULL,
    keyword_id   bigint      REFERENCES marketing_keywords (id) ON DELETE SET NULL,
    marketplace  text,
    brand_id     text,
    alert_type   text        NOT NULL,
    severity     text        NOT NULL CHECK (severity IN ('info','warning','critical')),
    title        text        NOT NULL,
    message      text        NOT NULL,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    action_taken text,
    recipients   bigint[]    NOT NULL DEFAULT '{}',
    platform_alert_id bigint,
    dedup_key    text        UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS marketing_alerts_created ON marketing_alerts (created_at);
CREATE INDEX IF NOT EXISTS marketing_alerts_campaign_type ON marketing_alerts (campaign_id, alert_type, created_at);

-- The seed's Notification rows: one per (alert, user).
CREATE TABLE IF NOT EXISTS marketing_notifications (
    alert_id   bigint      NOT NULL REFERENCES marketing_alerts (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_type text        NOT NULL,
    level      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, user_id)
);

-- calculate_analytics output: one row per campaign, day and kind of advice.
CREATE TABLE IF NOT EXISTS marketing_recommendations (
    id          bigserial   PRIMARY KEY,
    campaign_id bigint      NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    rec_date    date        NOT NULL,
    kind        text        NOT NULL,
    priority    text        NOT NULL CHECK (priority IN ('high','medium','low')),
    text        text        NOT NULL,
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    provider    text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, rec_date, kind)
);
-- An operator's decision on a recommendation (adolfd recommendations accept|dismiss, the bot's buttons).
ALTER TABLE marketing_recommendations ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'accepted', 'dismissed'));
ALTER TABLE marketing_recommendations ADD COLUMN IF NOT EXISTS decided_by text;
ALTER TABLE marketing_recommendations ADD COLUMN IF NOT EXISTS decided_at timestamptz;
ALTER TABLE marketing_recommendations ADD COLUMN IF NOT EXISTS bid_changes bigint[] NOT NULL DEFAULT '{}';

-- Detail → day (seed §7.3.5 `aggregate_daily_stats`): copies the day's figures of every campaign and keyword
-- with the derived ratios; running it again for the same day rewrites the same rows. Returns rows written.
CREATE OR REPLACE FUNCTION fn_marketing_aggregate_daily_stats(p_date date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    written integer;
BEGIN
    INSERT INTO marketing_stats_daily AS d (
        campaign_id, keyword_id, marketplace, brand_id, stat_date, views, clicks, ctr, spent, cpc,
        orders, revenue, cpo, drr, avg_position, aggregated_at
    )
    SELECT s.campaign_id, s.keyword_id, s.marketplace, s.brand_id, s.stat_date,
           SUM(s.views), SUM(s.clicks),
           CASE WHEN SUM(s.views) > 0 THEN ROUND(SUM(s.clicks)::numeric / SUM(s.views) * 100, 2) ELSE 0 END,
           SUM(s.spent),
           CASE WHEN SUM(s.clicks) > 0 THEN ROUND(SUM(s.spent) / SUM(s.clicks), 2) ELSE 0 END,
           SUM(s.orders), SUM(s.revenue),
           CASE WHEN SUM(s.orders) > 0 THEN ROUND(SUM(s.spent) / SUM(s.orders), 2) ELSE 0 END,
           CASE WHEN SUM(s.revenue) > 0 THEN ROUND(SUM(s.spent) / SUM(s.revenue) * 100, 2) ELSE 0 END,
           ROUND(AVG(s.avg_position), 2),
           now()
    FROM marketing_stats s
    WHERE s.stat_date = p_date
    GROUP BY s.campaign_id, s.keyword_id, s.marketplace, s.brand_id, s.stat_date
    ON CONFLICT ON CONSTRAINT marketing_stats_daily_unit_day DO UPDATE SET
        views = EXCLUDED.views, clicks = EXCLUDED.clicks, ctr = EXCLUDED.ctr, spent = EXCLUDED.spent,
        cpc = EXCLUDED.cpc, orders = EXCLUDED.orders, revenue = EXCLUDED.revenue, cpo = EXCLUDED.cpo,
        drr = EXCLUDED.drr, avg_position = EXCLUDED.avg_position, aggregated_at = EXCLUDED.aggregated_at;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END;
$$;


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
-- Why the content guard (adolfd/domain/reputation/reply_guard.py) holds the reply for review; NULL when it passes.
ALTER TABLE reputation_responses ADD COLUMN IF NOT EXISTS guard_reason text;
-- Publish attempts whose outcome is unknown (a timeout, a 5xx, a killed worker, an unreadable answer): only while
-- one is open may a seller answer found later be recorded as ours (replies.decide_publish).
-- Rows from before the column keep the old rule (every earlier attempt counted as possibly ours).
ALTER TABLE reputation_responses ADD COLUMN IF NOT EXISTS doubtful_attempts integer;
UPDATE reputation_responses SET doubtful_attempts = publish_retry_count WHERE doubtful_attempts IS NULL;
ALTER TABLE reputation_responses ALTER COLUMN doubtful_attempts SET DEFAULT 0;
ALTER TABLE reputation_responses ALTER COLUMN doubtful_attempts SET NOT NULL;

-- Items a poll could not store even after cleaning (polling._store): kept here with the database's refusal and an
-- ASCII-escaped copy of what the marketplace sent, so the poll stores the rest of the page and moves on.
CREATE TABLE IF NOT EXISTS reputation_quarantine (
    platform     text        NOT NULL,
    item_type    text        NOT NULL,
    external_id  text        NOT NULL,
    brand_id     text        NOT NULL,
    error        text        NOT NULL,
    payload      text        NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, item_type, external_id)
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
-- When a poll last read the whole lookback (polling._since): items a marketplace shows late are read by sweeps.
ALTER TABLE reputation_poll_cursors ADD COLUMN IF NOT EXISTS swept_at timestamptz;

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
-- LLM calls the item waited out (analysis.py): a failed analyze_item/generate_response leaves the item where it was
-- and counts here, so the next poll queues it again under a fresh job id (`…:r<n>`). Added after the archive
-- table is made LIKE reputation_items, which keeps the archive's columns those the archive job writes.
ALTER TABLE reputation_items ADD COLUMN IF NOT EXISTS llm_deferrals integer NOT NULL DEFAULT 0;


-- == operations: alert delivery ====================================================================
-- One row per (alert, chat) the routing chose (docs/operations.md "Alerts"). A row is delivered once: the bot
-- records the Telegram message id right after the send; failures count attempts and wait until
-- next_attempt_at. alerts.delivered_at is set when every row of the alert is delivered (or none matched).
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id        bigint      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    chat_id         bigint      NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    message_id      bigint,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, chat_id)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_pending ON alert_deliveries (next_attempt_at, chat_id)
    WHERE delivered_at IS NULL;

-- == watcher (seed 001) ============================================================================
-- Marketplaces are adolfd's `wb`, `ozon`, `ym`; the agents' Redis keys spell them as the seed does
-- (`wildberries`, `ozon`, `yandex_market`), mapped in adolfd/workers/watcher/keys.py.
-- Our own products whose price is watched (the tasks with competitor NULL parse our own card).
CREATE TABLE IF NOT EXISTS watcher_products (
    id          bigserial   PRIMARY KEY,
    sku         text        NOT NULL,
    marketplace text        NOT NULL CHECK (marketplace IN ('wb','ozon','ym')),
    brand_id    text        NOT NULL,
    name        text        NOT NULL DEFAULT '',
    url         text        NOT NULL DEFAULT '',
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sku, marketplace)
);

-- A competitor's card watched against one of our SKUs; priority 0–100 (calculate_priorities, seed §7.7).
CREATE TABLE IF NOT EXISTS watcher_competitors (
    id             bigserial   PRIMARY KEY,
    our_sku        text        NOT NULL,
    marketplace    text        NOT NULL CHECK (marketplace IN ('wb','ozon','ym')),
    competitor_sku text        NOT NULL,
    url            text        NOT NULL DEFAULT '',
    name           text        NOT NULL DEFAULT '',
    is_active      boolean     NOT NULL DEFAULT true,
    priority       integer     NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (marketplace, our_sku, competitor_sku)
);

-- Parsing agents (outside adolfd); they speak the Redis protocol of docs/agents.md.
CREATE TABLE IF NOT EXISTS watcher_agents (
    id             bigserial   PRIMARY KEY,
    name           text        NOT NULL UNIQUE,
    marketplace    text        NOT NULL CHECK (marketplace IN ('wb','ozon','ym')),
    status         text        NOT NULL DEFAULT 'online' CHECK (status IN ('online','working','offline','panic')),
    cookies_valid  boolean     NOT NULL DEFAULT true,
    last_heartbeat timestamptz,
    ip             text,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- One parsing task per target (our product or a competitor), marketplace and night (seed §7.3).
-- `seq` is the task's place in the night's priority order: tasks handed back go to the head in this order.
-- `requeue` marks a task whose id must be pushed back to its queue (set in the same transaction that hands
-- it back; cleared once the id is in Redis), so a crash between the two never loses it.
CREATE TABLE IF NOT EXISTS watcher_tasks (
    id                bigserial   PRIMARY KEY,
    target_type       text        NOT NULL CHECK (target_type IN ('product','competitor')),
    target_id         bigint      NOT NULL,
    sku               text        NOT NULL,
    url               text        NOT NULL DEFAULT '',
    marketplace       text        NOT NULL CHECK (marketplace IN ('wb','ozon','ym')),
    scheduled_date    date        NOT NULL,
    seq               integer     NOT NULL,
    priority          integer     NOT NULL DEFAULT 50,
    status            text        NOT NULL DEFAULT 'pending'
                                  CHECK (status IN ('pending','in_progress','completed','failed')),
    retry_count       integer     NOT NULL DEFAULT 0,
    error             text,
    agent_id          bigint      REFERENCES watcher_agents (id) ON DELETE SET NULL,
    requeue           text        CHECK (requeue IN ('head','tail')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    execution_time_ms integer,
    UNIQUE (target_type, target_id, marketplace, scheduled_date)
);
CREATE INDEX IF NOT EXISTS watcher_tasks_agent ON watcher_tasks (agent_id) WHERE status = 'in_progress';
CREATE INDEX IF NOT EXISTS watcher_tasks_requeue ON watcher_tasks (marketplace, seq) WHERE requeue IS NOT NULL;
CREATE INDEX IF NOT EXISTS watcher_tasks_date ON watcher_tasks (scheduled_date, status);

CREATE TABLE IF NOT EXISTS watcher_agent_logs (
    id         bigserial   PRIMARY KEY,
    agent_id   bigint      REFERENCES watcher_agents (id) ON DELETE CASCADE,
    event_type text        NOT NULL,
    severity   text        NOT NULL DEFAULT 'info' CHECK (severity IN ('info','warning','error')),
    message    text        NOT NULL DEFAULT '',
    details    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS watcher_agent_logs_created ON watcher_agent_logs (created_at);

-- Parsed prices; competitor_id NULL is our own price of `sku` (seed §7.7 `_get_price_difference`).
CREATE TABLE IF NOT EXISTS watcher_price_history (
    id               bigserial     PRIMARY KEY,
    task_id          bigint        REFERENCES watcher_tasks (id) ON DELETE SET NULL,
    sku              text          NOT NULL,
    marketplace      text          NOT NULL CHECK (marketplace IN ('wb','ozon','ym')),
    competitor_id    bigint        REFERENCES watcher_competitors (id) ON DELETE CASCADE,
    current_price    numeric(12,2),
    old_price        numeric(12,2),
    discount_percent numeric(5,2),
    in_stock         boolean       NOT NULL DEFAULT true,
    parsed_at        timestamptz   NOT NULL
);
CREATE INDEX IF NOT EXISTS watcher_price_history_competitor ON watcher_price_history (competitor_id, parsed_at);
CREATE INDEX IF NOT EXISTS watcher_price_history_own ON watcher_price_history (sku, marketplace, parsed_at)
    WHERE competitor_id IS NULL;
CREATE INDEX IF NOT EXISTS watcher_price_history_parsed ON watcher_price_history (parsed_at);

-- Watcher alerts (seed §7.4); platform_alert_id is the row in `alerts` that alert delivery sends.
CREATE TABLE IF NOT EXISTS watcher_alerts (
    id                bigserial   PRIMARY KEY,
    alert_type        text        NOT NULL CHECK (alert_type IN ('price_drop','dumping_detected','out_of_stock')),
    severity          text        NOT NULL CHECK (severity IN ('info','warning','critical')),
    sku               text        NOT NULL,
    marketplace       text        NOT NULL,
    brand_id          text,
    competitor_id     bigint      REFERENCES watcher_competitors (id) ON DELETE CASCADE,
    details           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_resolved       boolean     NOT NULL DEFAULT false,
    resolved_at       timestamptz,
    platform_alert_id bigint,
    recipients        bigint[]    NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS watcher_alerts_recent ON watcher_alerts (alert_type, sku, competitor_id, created_at);

-- Agent events applied from the Redis stream, by event id: a redelivered event changes nothing. `effects`
-- holds what must happen in Redis after the commit (IP block, claimed-list clean-up), replayed on redelivery.
CREATE TABLE IF NOT EXISTS watcher_applied_events (
    event_id   text        PRIMARY KEY,
    event_type text        NOT NULL,
    effects    jsonb       NOT NULL DEFAULT '[]'::jsonb,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS watcher_applied_events_at ON watcher_applied_events (applied_at);

-- == carsbot (seed 004) ============================================================================
-- Monitored Telegram channels, mirrored from the operator's channels sheet (sync_channels_task). A channel
-- removed from the sheet is kept, inactive (its posts keep their channel).
CREATE TABLE IF NOT EXISTS carsbot_channels (
    channel_id      bigint      PRIMARY KEY,
    username        text,
    title           text        NOT NULL DEFAULT '',
    is_active       boolean     NOT NULL DEFAULT true,
    in_sheet        boolean     NOT NULL DEFAULT true,
    sheet_row       integer,
    synced_at       timestamptz NOT NULL,
    deactivated_at  timestamptz
);

-- Subscribers of the private channel, mirrored from the subscribers sheet (sync_subscribers_task).
-- closed_at / notified_at make check_subscriptions_task close and tell each expired subscription once;
-- blocked_at is set when Telegram answers 403 (the subscriber blocked the bot): nobody writes to them again
-- until they write to the bot (/start). A renewal after access_removed_at gets one invite link (invite_link),
-- sent once (invited_at); the closing of the next expiry clears both.
CREATE TABLE IF NOT EXISTS carsbot_subscribers (
    telegram_id     bigint      PRIMARY KEY,
    username        text,
    plan            text        NOT NULL DEFAULT 'basic',
    expires_on      date        NOT NULL,
    is_active       boolean     NOT NULL DEFAULT true,
    in_sheet        boolean     NOT NULL DEFAULT true,
    sheet_row       integer,
    synced_at       timestamptz NOT NULL,
    closed_at       timestamptz,
    closed_for      date,                   -- the expiry date the closing was for (a renewal reopens)
    notified_at     timestamptz,
    access_removed_at timestamptz,
    blocked_at      timestamptz,
    invite_link     text,                   -- a renewal's one-person link back into the private channel
    invited_at      timestamptz             -- when that link was sent (claimed before the send)
);
ALTER TABLE carsbot_subscribers ADD COLUMN IF NOT EXISTS invite_link text;
ALTER TABLE carsbot_subscribers ADD COLUMN IF NOT EXISTS invited_at timestamptz;

-- Posts of monitored channels, one per (channel, source_key): `msg:<message id>`, or `album:<media group id>`
-- for the several updates of one album. status: new → processing → rejected | duplicate | ready →
-- publishing → published; `publish_unknown` when a send may or may not have reached Telegram (never resent
-- by itself), `failed` when Telegram refused it, `skipped` by an operator, `waiting_llm` while the LLM is down.
CREATE TABLE IF NOT EXISTS carsbot_posts (
    id              bigserial   PRIMARY KEY,
    channel_id      bigint      NOT NULL,
    source_key      text        NOT NULL,
    message_id      bigint      NOT NULL,
    media_group_id  text,
    text            text        NOT NULL DEFAULT '',
    photos          jsonb       NOT NULL DEFAULT '[]',      -- [{"message_id", "file_id"}] in album order
    posted_at       timestamptz,
    received_at     timestamptz NOT NULL,
    edited_at       timestamptz,
    status          text        NOT NULL DEFAULT 'new',
    is_ad           boolean,
    verdict         jsonb,
    fields          jsonb,
    fingerprint     text,
    duplicate_of    bigint      REFERENCES carsbot_posts (id) ON DELETE SET NULL,
    generated_text  text,
    process_tries   integer     NOT NULL DEFAULT 0,
    publish_attempt uuid,
    publish_started_at timestamptz,
    published_message_ids bigint[],
    published_at    timestamptz,
    error           text,
    updated_at      timestamptz NOT NULL,
    UNIQUE (channel_id, source_key)
);
CREATE INDEX IF NOT EXISTS carsbot_posts_status ON carsbot_posts (status, received_at);
-- the same car reposted in several channels is published once
CREATE UNIQUE INDEX IF NOT EXISTS carsbot_posts_one_publication ON carsbot_posts (fingerprint)
    WHERE status IN ('ready', 'publishing', 'published', 'publish_unknown');

-- collect_stats_task, every 15 minutes: queue depths and post counts by status (one row per run slot).
CREATE TABLE IF NOT EXISTS carsbot_stats (
    slot            timestamptz PRIMARY KEY,
    queue_depths    jsonb       NOT NULL,
    posts_by_status jsonb       NOT NULL,
    collected_at    timestamptz NOT NULL
);
