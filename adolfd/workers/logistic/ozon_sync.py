"""Logistic jobs (seed 000 §8): Ozon FBO stock and sales, 1C warehouse stock, supply tasks, stock alerts.

Each job reads through `ctx`, decides with `adolfd.domain` (stock_monitor, supply_engine, brain_validation,
freshness, readiness) and writes set-based SQL in one transaction per brand, so a retry or a second run
changes nothing that the first one already did.

Where the seed's velocity meets its per-cluster planning: `sync_ozon_analytics` stores each SKU's ordered
units over the last 28 full days; `sync_ozon_stocks` shares them among the SKU's clusters by Ozon's own
per-cluster sales (`ads_cluster`, see `split_units`) and stores the snapshot every position is read from.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import PositiveInt

from adolfd.process import metrics
from adolfd.engine.arguments import BrandId
from adolfd.admin import status as status_sections
from adolfd.admin.alerts import raise_alert, resolve_alerts
from adolfd.clients.ozon import ProductInfo, StockItem
from adolfd.engine.context import Ctx
from adolfd.domain.logistic.brain_validation import BalanceRow, is_stale, validate_balance_rows
from adolfd.domain.logistic.freshness import BRAIN_TABLES, check_freshness
from adolfd.domain.logistic.readiness import Decision, InputRuns, supply_readiness
from adolfd.domain.logistic.stock_monitor import (
    ALL_BRANDS, STOCK_ALERTS, AlertKey, AlertType, LogisticAlert, LogisticRules, OpenAlert, StockPosition,
    avg_daily_sales, days_of_stock, evaluate_stock_alerts, ozon_marks_deficit, split_units,
)
from adolfd.domain.logistic.supply_engine import (
    OPEN_TASK_STATUSES, SupplySummary, SupplyTask, TaskState, plan_auto_cancel, plan_supply,
    tasks_generated_alert,
)
from adolfd.engine.jobs import job
from adolfd.workers import queue_settings

MODULE = "logistic"
SLOT_MINUTES = 30                          # sync_ozon_stocks runs */30: one snapshot per slot
SUPPLY_LOCK = "logistic.generate_supply_tasks"
# Alerts that stay open until resolved: raising one again while it is open does nothing.
DEDUPED = STOCK_ALERTS | {AlertType.WAREHOUSE_LOW}
CACHE_KEY = "logistic:stocks:{brand}"      # seed §8.4.1 "Redis cache": latest FBO position per article+cluster


def _rules(ctx: Ctx, brand: str | None = None) -> LogisticRules:
    return ctx.settings.logistic.rules(brand, ctx.settings.timezone)


# -- alerts --------------------------------------------------------------------------------------------

def _dedup_key(key: AlertKey) -> str:
    """`LOW_STOCK:ohana_market:OM-1001:4`: one open alert per (type, brand, article, cluster)."""
    return ":".join(part or "" for part in key)


class CatalogueMissing(RuntimeError):
    """sync_brain_stocks needs the articles sync_ozon_stocks stores; retried by the job's policy."""


async def _raise(conn: asyncpg.Connection, alert: LogisticAlert, *, dedup_key: str | None = None,
                 **details: Any) -> int | None:
    if dedup_key is None and alert.type in DEDUPED:
        dedup_key = _dedup_key(alert.key)
    return await raise_alert(
        conn, module=MODULE, alert_type=str(alert.type), severity=str(alert.severity), message=alert.message,
        brand_id=None if alert.brand == ALL_BRANDS else alert.brand, dedup_key=dedup_key,
        details={"article": alert.article, "cluster": alert.cluster, **details})


async def _open_alerts(conn: asyncpg.Connection, brand: str, types: set[str]) -> list[OpenAlert]:
    rows = await conn.fetch(
        "SELECT id, alert_type, details->>'article' AS article, details->>'cluster' AS cluster FROM alerts "
        "WHERE module = $1 AND brand_id = $2 AND resolved_at IS NULL AND alert_type = ANY($3::text[])",
        MODULE, brand, sorted(str(t) for t in types))
    return [OpenAlert(r["alert_type"], brand, r["article"], r["cluster"], r["id"]) for r in rows]


async def _resolve(conn: asyncpg.Connection, alerts: tuple[OpenAlert, ...] | list[OpenAlert]) -> int:
    return await resolve_alerts(conn, module=MODULE,
                                dedup_keys=[_dedup_key(a.key) for a in alerts])


# -- inputs ----------------------------------------------------------------------------------------------

_MARK_INPUT = """
INSERT INTO logistic_sync_state (brand_id, input, synced_at, details) VALUES ($1, $2, $3, $4)
ON CONFLICT (brand_id, input) DO UPDATE SET synced_at = EXCLUDED.synced_at, details = EXCLUDED.details
"""


async def _input_runs(db: asyncpg.Pool | asyncpg.Connection, brand: str) -> InputRuns:
    rows = await db.fetch("SELECT input, synced_at FROM logistic_sync_state WHERE brand_id = $1", brand)
    at = {r["input"]: r["synced_at"] for r in rows}
    return InputRuns(at.get("sync_brain_stocks"), at.get("sync_ozon_analytics"), at.get("sync_ozon_stocks"))


def _slot(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % SLOT_MINUTES, second=0, microsecond=0)


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 2)


# -- sync_ozon_stocks (seed §8.4.1) ----------------------------------------------------------------------

_SAVE_PRODUCTS = """
INSERT INTO logistic_products (brand_id, article, sku, product_id, name, synced_at)
SELECT $1, p.article, p.sku, p.product_id, p.name, $3
FROM jsonb_to_recordset($2::jsonb) AS p(article text, sku bigint, product_id bigint, name text)
ON CONFLICT (brand_id, article) DO UPDATE
SET sku = EXCLUDED.sku, product_id = EXCLUDED.product_id, name = EXCLUDED.name, synced_at = EXCLUDED.synced_at
"""

_LATEST_UNITS = """
SELECT sku, ordered_units FROM logistic_sales_analytics
WHERE brand_id = $1 AND period_to = (SELECT max(period_to) FROM logistic_sales_analytics WHERE brand_id = $1)
"""

_SAVE_SNAPSHOTS = """
INSERT INTO cluster_stock_snapshots (brand_id, slot, sku, cluster_id, article, cluster_name, fbo_stock, in_transit,
                                     ordered_units_28d, avg_daily_sales, days_of_stock, ads_cluster,
                                     turnover_grade_cluster, captured_at)
SELECT $1, $2, s.sku, s.cluster_id, s.article, s.cluster_name, s.fbo_stock, s.in_transit, s.ordered_units_28d,
       s.avg_daily_sales, s.days_of_stock, s.ads_cluster, s.turnover_grade_cluster, $4
FROM jsonb_to_recordset($3::jsonb) AS s(sku bigint, cluster_id bigint, article text, cluster_name text,
     fbo_stock int, in_transit int, ordered_units_28d int, avg_daily_sales numeric, days_of_stock numeric,
     ads_cluster numeric, turnover_grade_cluster text)
ON CONFLICT (brand_id, slot, sku, cluster_id) DO UPDATE
SET fbo_stock = EXCLUDED.fbo_stock, in_transit = EXCLUDED.in_transit, ordered_units_28d = EXCLUDED.ordered_units_28d,
    avg_daily_sales = EXCLUDED.avg_daily_sales, days_of_stock = EXCLUDED.days_of_stock,
    ads_cluster = EXCLUDED.ads_cluster, turnover_grade_cluster = EXCLUDED.turnover_grade_cluster,
    article = EXCLUDED.article, cluster_name = EXCLUDED.cluster_name, captured_at = EXCLUDED.captured_at
"""


def cluster_snapshots(products: list[ProductInfo], items: list[StockItem], units: dict[int, int],
                      rules: LogisticRules) -> list[dict[str, Any]]:
    """Ozon's per-warehouse rows summed per (SKU, cluster), enriched with the cluster's share of sales."""
    article_of = {p.sku: p.offer_id for p in products}
    per_cluster: dict[tuple[int, int], dict[str, Any]] = {}
    for item in items:
        row = per_cluster.setdefault((item.sku, item.cluster_id), {
            "sku": item.sku, "cluster_id": item.cluster_id, "cluster_name": item.cluster_name,
            "article": article_of.get(item.sku) or item.offer_id, "fbo_stock": 0, "in_transit": 0,
            "ads_cluster": 0.0, "turnover_grade_cluster": item.turnover_grade_cluster})
        row["fbo_stock"] += max(item.available_stock_count, 0)
        row["in_transit"] += max(item.transit_stock_count, 0)
        row["ads_cluster"] = max(row["ads_cluster"], item.ads_cluster)
    by_sku: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in per_cluster.values():
        by_sku[row["sku"]].append(row)
    for sku, rows in by_sku.items():
        shares = split_units(units.get(sku, 0), {r["cluster_id"]: max(r["ads_cluster"], 0.0) for r in rows})
        for row in rows:
            row["ordered_units_28d"] = shares[row["cluster_id"]]
            velocity = avg_daily_sales(row["ordered_units_28d"], rules.velocity_window_days)
            row["avg_daily_sales"] = round(float(velocity), 4)
            row["days_of_stock"] = _finite(days_of_stock(row["fbo_stock"], velocity))
    return sorted(per_cluster.values(), key=lambda r: (r["article"], r["cluster_id"]))


async def _cache_positions(ctx: Ctx, brand: str, rows: list[dict[str, Any]]) -> None:
    key = CACHE_KEY.format(brand=brand)
    mapping = {f"{r['article']}:{r['cluster_id']}": json.dumps(
        {k: r[k] for k in ("sku", "cluster_name", "fbo_stock", "in_transit", "avg_daily_sales", "days_of_stock")},
        ensure_ascii=False) for r in rows}
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        if mapping:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, ctx.settings.logistic.cache_ttl_seconds)
        await pipe.execute()


@job(module=MODULE, queue="sync", manual=True)
async def sync_ozon_stocks(ctx: Ctx, brand_id: BrandId = "all") -> dict:
    """FBO stock per cluster (seed 000 §8.4.1) → cluster_stock_snapshots + Redis cache, then generate_alerts.
    Safe to run twice: snapshots upsert per (brand, 30-minute slot, SKU, cluster)."""
    results: dict[str, dict[str, int]] = {}
    for brand in ctx.brands(brand_id):
        rules = _rules(ctx, brand)
        client = ctx.client("ozon_seller", brand)
        products = await client.products()
        items = await client.stocks([p.sku for p in products]) if products else []
        now = ctx.now()
        slot = _slot(ctx.fire_time.astimezone(now.tzinfo) if ctx.fire_time else now)
        async with ctx.db.acquire() as conn, conn.transaction():
            await conn.execute(_SAVE_PRODUCTS, brand, [
                {"article": p.offer_id, "sku": p.sku, "product_id": p.id, "name": p.name} for p in products], now)
            units = {r["sku"]: r["ordered_units"] for r in await conn.fetch(_LATEST_UNITS, brand)}
            rows = cluster_snapshots(products, items, units, rules)
            await conn.execute(_SAVE_SNAPSHOTS, brand, slot, rows, now)
            await conn.execute(_MARK_INPUT, brand, "sync_ozon_stocks", now, {"slot": slot.isoformat()})
        await _cache_positions(ctx, brand, rows)
        if not units:
            ctx.log.warning("no_sales_analytics", brand=brand)
        results[brand] = {"snapshots_saved": len(rows), "clusters": len({r["cluster_id"] for r in rows}),
                          "articles": len({r["article"] for r in rows})}
    # the seed's chain sync_ozon_stocks → generate_alerts; the job id makes a retry enqueue nothing new
    await ctx.enqueue("logistic.generate_alerts", _job_id=f"logistic:alerts-after:{ctx.job_id}", brand_id=brand_id)
    return {"status": "success", "results": results}


# -- sync_ozon_analytics (seed §8.4.2) -------------------------------------------------------------------

_SAVE_UNITS = """
INSERT INTO logistic_sales_analytics (brand_id, sku, period_from, period_to, ordered_units, synced_at)
SELECT $1, u.sku, $2, $3, u.units, $5 FROM jsonb_to_recordset($4::jsonb) AS u(sku bigint, units int)
"""


@job(module=MODULE, queue="sync", manual=True)
async def sync_ozon_analytics(ctx: Ctx, brand_id: BrandId = "all") -> dict:
    """Ordered units per SKU over the last 28 full days (seed 000 §8.4.2). Safe to run twice: the period's
    rows are replaced."""
    results: dict[str, dict[str, int]] = {}
    for brand in ctx.brands(brand_id):
        rules = _rules(ctx, brand)
        today = ctx.now().date()
        date_from, date_to = today - timedelta(days=rules.velocity_window_days), today - timedelta(days=1)
        units = await ctx.client("ozon_seller", brand).ordered_units(date_from, date_to)
        now = ctx.now()
        async with ctx.db.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM logistic_sales_analytics WHERE brand_id = $1 AND period_to = $2",
                               brand, date_to)
            await conn.execute(_SAVE_UNITS, brand, date_from, date_to,
                               [{"sku": sku, "units": max(n, 0)} for sku, n in sorted(units.items())], now)
            await conn.execute(_MARK_INPUT, brand, "sync_ozon_analytics", now,
                               {"period_from": date_from.isoformat(), "period_to": date_to.isoformat()})
        results[brand] = {"records_saved": len(units)}
    return {"status": "success", "results": results}


# -- sync_ozon_warehouses (seed §8.4.3) ------------------------------------------------------------------

_SAVE_CLUSTERS = """
INSERT INTO logistic_clusters (cluster_id, name, cluster_type, macrolocal_cluster_id, warehouses, is_active, synced_at)
SELECT c.id, c.name, c.type, c.macrolocal_cluster_id, c.warehouses, true, $2
FROM jsonb_to_recordset($1::jsonb) AS c(id bigint, name text, type text, macrolocal_cluster_id bigint, warehouses jsonb)
ON CONFLICT (cluster_id) DO UPDATE
SET name = EXCLUDED.name, cluster_type = EXCLUDED.cluster_type, macrolocal_cluster_id = EXCLUDED.macrolocal_cluster_id,
    warehouses = EXCLUDED.warehouses, is_active = true, synced_at = EXCLUDED.synced_at
"""


@job(module=MODULE, queue="sync", manual=True)
async def sync_ozon_warehouses(ctx: Ctx) -> dict:
    """FBO clusters and their warehouses (seed 000 §8.4.3). Clusters are the same for every account, so
    the first brand with Ozon credentials is asked; a cluster Ozon no longer lists is marked inactive."""
    clusters = None
    for brand in ctx.brands():
        try:
            client = ctx.client("ozon_seller", brand)
        except LookupError:
            continue
        clusters = await client.clusters()
        break
    if clusters is None:
        raise LookupError("no brand has ozon_seller credentials: cannot list FBO clusters")
    rows = [{"id": c.id, "name": c.name, "type": c.type or "CLUSTER_TYPE_OZON",
             "macrolocal_cluster_id": c.macrolocal_cluster_id,
             "warehouses": [w.model_dump() for w in c.warehouses]} for c in clusters]
    async with ctx.db.acquire() as conn, conn.transaction():
        await conn.execute(_SAVE_CLUSTERS, rows, ctx.now())
        gone = await conn.fetch("UPDATE logistic_clusters SET is_active = false WHERE is_active "
                                "AND NOT (cluster_id = ANY($1::bigint[])) RETURNING cluster_id", [c.id for c in clusters])
    return {"status": "success", "results": {"clusters_synced": len(rows), "deactivated": len(gone)}}


# -- sync_brain_stocks (seed §8.4.4) ---------------------------------------------------------------------

_LATEST_EXTRACT = """
SELECT extract_date, max(loaded_at) AS loaded_at FROM brain_stock_balance WHERE brand_id = $1
GROUP BY extract_date ORDER BY extract_date DESC LIMIT 1
"""

_LAST_HISTORY = """
SELECT DISTINCT ON (article, warehouse_name) article, warehouse_name, quantity FROM logistic_stock_history
WHERE brand_id = $1 AND stock_date <= $2 ORDER BY article, warehouse_name, stock_date DESC
"""

_PREVIOUS_ANOMALIES = """
SELECT DISTINCT ON (article, warehouse_name) article, warehouse_name, quantity FROM logistic_brain_anomalies
WHERE brand_id = $1 AND extract_date < $2 AND reason = 'sudden_change'
ORDER BY article, warehouse_name, extract_date DESC
"""

_SAVE_WAREHOUSE = """
INSERT INTO warehouse_stocks (brand_id, article, warehouse_name, quantity, extract_date, loaded_at, synced_at)
SELECT $1, r.article, r.warehouse, r.quantity, $3, $4, $5
FROM jsonb_to_recordset($2::jsonb) AS r(article text, warehouse text, quantity int)
ON CONFLICT (brand_id, article, warehouse_name) DO UPDATE
SET quantity = EXCLUDED.quantity, extract_date = EXCLUDED.extract_date, loaded_at = EXCLUDED.loaded_at,
    synced_at = EXCLUDED.synced_at
"""

_SAVE_HISTORY = """
INSERT INTO logistic_stock_history (brand_id, article, warehouse_name, stock_date, quantity, recorded_at)
SELECT $1, r.article, r.warehouse, $3, r.quantity, $4
FROM jsonb_to_recordset($2::jsonb) AS r(article text, warehouse text, quantity int)
ON CONFLICT (brand_id, article, warehouse_name, stock_date) DO UPDATE
SET quantity = EXCLUDED.quantity, recorded_at = EXCLUDED.recorded_at
"""

_SAVE_ANOMALIES = """
INSERT INTO logistic_brain_anomalies (brand_id, article, warehouse_name, extract_date, quantity, previous, reason,
                                      detected_at)
SELECT $1, a.article, a.warehouse, $3, a.quantity, a.previous, a.reason, $4
FROM jsonb_to_recordset($2::jsonb) AS a(article text, warehouse text, quantity int, previous int, reason text)
ON CONFLICT (brand_id, article, warehouse_name, extract_date) DO UPDATE
SET quantity = EXCLUDED.quantity, previous = EXCLUDED.previous, reason = EXCLUDED.reason,
    detected_at = EXCLUDED.detected_at
"""


def _balance_rows(extract: list[asyncpg.Record], current: list[asyncpg.Record]) -> list[BalanceRow]:
    """The extract, plus a zero for every stocked (article, warehouse) it no longer lists: 1C leaves zero
    balances out. Validation then holds back a vanishing large stock (a partial extract) as an anomaly."""
    rows = [BalanceRow(r["article"], r["warehouse_name"], r["quantity"]) for r in extract]
    listed = {r.key for r in rows}
    rows += [BalanceRow(r["article"], r["warehouse_name"], 0) for r in current
             if r["quantity"] > 0 and (r["article"], r["warehouse_name"]) not in listed]
    return rows


@job(module=MODULE, queue="brain", manual=True)
async def sync_brain_stocks(ctx: Ctx) -> dict:
    """1C warehouse stock from brain_stock_balance (seed 000 §8.4.4): validate, then upsert warehouse_stocks
    and one logistic_stock_history row per article, warehouse and day. A load older than 26 h is reported
    `stale` and changes nothing. Safe to run twice a day: the same rows are upserted."""
    now = ctx.now()
    results: dict[str, dict[str, Any]] = {}
    for brand in ctx.brands():
        rules = _rules(ctx, brand)
        latest = await ctx.db.fetchrow(_LATEST_EXTRACT, brand)
        loaded_at = latest["loaded_at"] if latest else None
        if is_stale(loaded_at, now, rules.brain_stale_hours):
            ctx.log.warning("brain_stock_balance_stale", brand=brand, loaded_at=loaded_at)
            results[brand] = {"status": "stale", "loaded_at": loaded_at and loaded_at.isoformat()}
            continue
        day = latest["extract_date"]
        async with ctx.db.acquire() as conn, conn.transaction():
            extract = await conn.fetch("SELECT article, warehouse_name, quantity FROM brain_stock_balance "
                                       "WHERE brand_id = $1 AND extract_date = $2", brand, day)
            current = await conn.fetch("SELECT article, warehouse_name, quantity FROM warehouse_stocks "
                                       "WHERE brand_id = $1", brand)
            known = {r["article"] for r in await conn.fetch(
                "SELECT article FROM logistic_products WHERE brand_id = $1", brand)}
            if not known:   # without Ozon's catalogue every 1C row would look unmapped and be dropped
                raise CatalogueMissing(f"no Ozon catalogue for {brand} yet (sync_ozon_stocks has not run); "
                                       "1C rows cannot be mapped")
            history = {(r["article"], r["warehouse_name"]): r["quantity"]
                       for r in await conn.fetch(_LAST_HISTORY, brand, day)}
            flagged = {(r["article"], r["warehouse_name"]): r["quantity"]
                       for r in await conn.fetch(_PREVIOUS_ANOMALIES, brand, day)}
            result = validate_balance_rows(_balance_rows(extract, current), known, history, rules,
                                           previous_anomalies=flagged)
            valid = [{"article": r.article, "warehouse": r.warehouse, "quantity": r.quantity} for r in result.valid]
            await conn.execute(_SAVE_WAREHOUSE, brand, valid, day, loaded_at, now)
            await conn.execute(_SAVE_HISTORY, brand, valid, day, now)
            await conn.execute(_SAVE_ANOMALIES, brand, [
                {"article": a.row.article, "warehouse": a.row.warehouse, "quantity": a.row.quantity,
                 "previous": a.previous, "reason": str(a.reason)} for a in result.anomalies], day, now)
            await conn.execute(_MARK_INPUT, brand, "sync_brain_stocks", now,
                               {"extract_date": day.isoformat(), **result.counts})
        for a in result.anomalies:
            ctx.log.warning("brain_stock_anomaly", brand=brand, article=a.row.article, warehouse=a.row.warehouse,
                            quantity=a.row.quantity, previous=a.previous, reason=str(a.reason))
        for r in result.confirmed:
            ctx.log.info("brain_stock_change_confirmed", brand=brand, article=r.article, warehouse=r.warehouse,
                         quantity=r.quantity)
        metrics.BRAIN_SYNC_RECORDS.labels("validated").inc(len(result.valid))
        metrics.BRAIN_SYNC_RECORDS.labels("unmapped").inc(len(result.unmapped))
        metrics.BRAIN_SYNC_RECORDS.labels("anomaly").inc(len(result.anomalies))
        results[brand] = {"status": "success", "extract_date": day.isoformat(), **result.counts}
    synced = [r for r in results.values() if r["status"] == "success"]
    return {
        "status": "success" if synced else "stale",
        "validated": sum(r["validated"] for r in synced),
        "unmapped": sum(r["unmapped"] for r in synced),
        "anomalies": sum(r["anomalies"] for r in synced),
        "results": results,
    }


# -- check_brain_freshness (seed §8.4.4a) ----------------------------------------------------------------

_NEWEST_LOADS = "SELECT " + ", ".join(f"(SELECT max(loaded_at) FROM {t}) AS {t}" for t in BRAIN_TABLES)
_STALE_KEY = "DATA_STALE:brain:"


@job(module=MODULE, queue="brain", manual=True)
async def check_brain_freshness(ctx: Ctx) -> dict:
    """brain_* tables whose newest loaded_at is older than 26 h (or that are empty) → one DATA_STALE alert
    (seed 000 §8.4.4a). One alert a day while stale; resolved once every table is fresh again."""
    now = ctx.now()
    newest = dict(await ctx.db.fetchrow(_NEWEST_LOADS))
    report = check_freshness(newest, now, _rules(ctx))
    for table, hours in report.age_hours.items():
        metrics.BRAIN_FRESHNESS.labels(table).set(math.inf if hours is None else hours)
    today_key = f"{_STALE_KEY}{now.date().isoformat()}"
    async with ctx.db.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE alerts SET resolved_at = now() WHERE module = $1 AND resolved_at IS NULL "
            "AND dedup_key LIKE $2 AND dedup_key <> $3", MODULE, f"{_STALE_KEY}%",
            today_key if report.alert else "")
        if report.alert:
            await _raise(conn, report.alert, dedup_key=today_key, stale=list(report.stale))
    ctx.log.info("check_brain_freshness_completed", **report.as_result())
    return report.as_result()


# -- generate_alerts (seed §8.4.7) -----------------------------------------------------------------------

_POSITIONS = """
SELECT article, cluster_id, cluster_name, sku, fbo_stock, in_transit, ordered_units_28d, turnover_grade_cluster
FROM cluster_stock_snapshots
WHERE brand_id = $1 AND slot = (SELECT max(slot) FROM cluster_stock_snapshots WHERE brand_id = $1)
ORDER BY article, cluster_id
"""


async def _positions(conn: asyncpg.Connection, brand: str, rules: LogisticRules) -> list[StockPosition]:
    """The brand's positions as of its latest stock snapshot."""
    return [StockPosition(brand, r["article"], str(r["cluster_id"]), r["sku"], r["fbo_stock"], r["in_transit"],
                          r["ordered_units_28d"], ozon_marks_deficit(r["turnover_grade_cluster"], rules),
                          r["cluster_name"])
            for r in await conn.fetch(_POSITIONS, brand)]


def _position_details(p: StockPosition | None, rules: LogisticRules) -> dict[str, Any]:
    if p is None:
        return {}
    return {"cluster_name": p.cluster_name, "sku": p.sku, "fbo_stock": p.fbo_stock, "in_transit": p.in_transit,
            "days_of_stock": _finite(p.days(rules))}


@job(module=MODULE, queue="logic", manual=True)
async def generate_alerts(ctx: Ctx, brand_id: BrandId = "all") -> dict:
    """Stock alerts from the latest FBO snapshot (seed 000 §8.4.7): OUT_OF_STOCK / URGENT_STOCK / LOW_STOCK /
    OZON_URGENT / STOCK_RECOVERED. Safe to run twice: an open alert is not raised again."""
    created = resolved = 0
    for brand in ctx.brands(brand_id):
        rules = _rules(ctx, brand)
        async with ctx.db.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"logistic.generate_alerts:{brand}")
            positions = await _positions(conn, brand, rules)
            plan = evaluate_stock_alerts(positions, await _open_alerts(conn, brand, set(STOCK_ALERTS)), rules)
            by_key = {(p.article, p.cluster): p for p in positions}
            for alert in plan.create:
                if await _raise(conn, alert, **_position_details(by_key.get((alert.article, alert.cluster)), rules)):
                    created += 1
            resolved += await _resolve(conn, plan.resolve)
    if created or resolved:
        ctx.log.info("generate_alerts_completed", alerts_generated=created, resolved=resolved)
    return {"status": "success", "alerts_generated": created, "resolved": resolved}


# -- generate_supply_tasks (seed §8.4.5) -----------------------------------------------------------------

_WAREHOUSE_BY_ARTICLE = """
SELECT article, sum(quantity)::int AS quantity FROM warehouse_stocks WHERE brand_id = $1 GROUP BY article
"""
_OPEN_TASKS = """
SELECT article, cluster_id, status, quantity FROM supply_tasks WHERE brand_id = $1 AND status = ANY($2::text[])
"""
_NEXT_SEQUENCE = """
SELECT coalesce(max(split_part(task_number, '-', 3)::int), 0) + 1 FROM supply_tasks WHERE plan_date = $1
"""
_SAVE_TASKS = """
INSERT INTO supply_tasks (task_number, plan_date, brand_id, article, sku, cluster_id, cluster_name, quantity, deficit,
                          target_stock, fbo_stock, in_transit, avg_daily_sales, days_of_stock, priority, coverage,
                          status, created_at, updated_at)
SELECT t.task_number, $2, $3, t.article, t.sku, t.cluster_id, t.cluster_name, t.quantity, t.deficit, t.target_stock,
       t.fbo_stock, t.in_transit, t.avg_daily_sales, t.days_of_stock, t.priority, t.coverage, 'new', $4, $4
FROM jsonb_to_recordset($1::jsonb) AS t(task_number text, article text, sku bigint, cluster_id bigint,
     cluster_name text, quantity int, deficit int, target_stock int, fbo_stock int, in_transit int,
     avg_daily_sales numeric, days_of_stock numeric, priority text, coverage text)
ON CONFLICT (brand_id, article, cluster_id) WHERE status IN ('new', 'confirmed', 'in_progress') DO NOTHING
RETURNING task_number
"""
# Units promised to tasks that have not been picked yet; an in-progress task is taken as written off in 1C.
RESERVING_STATUSES = ("new", "confirmed")


def _task_record(t: SupplyTask, cluster_names: dict[str, str]) -> dict[str, Any]:
    return {"task_number": t.task_number, "article": t.article, "sku": t.sku, "cluster_id": int(t.cluster),
            "cluster_name": cluster_names.get(t.cluster, t.cluster), "quantity": t.quantity, "deficit": t.deficit,
            "target_stock": t.target_stock, "fbo_stock": t.fbo_stock, "in_transit": t.in_transit,
            "avg_daily_sales": round(t.avg_daily_sales, 4), "days_of_stock": _finite(t.days_of_stock),
            "priority": str(t.priority), "coverage": str(t.coverage)}


async def _plan_brand(ctx: Ctx, conn: asyncpg.Connection, brand: str, rules: LogisticRules,
                      today: date) -> tuple[list[SupplyTask], SupplySummary]:
    positions = await _positions(conn, brand, rules)
    warehouse = {r["article"]: r["quantity"] for r in await conn.fetch(_WAREHOUSE_BY_ARTICLE, brand)}
    open_tasks = await conn.fetch(_OPEN_TASKS, brand, sorted(OPEN_TASK_STATUSES))
    reserved: dict[str, int] = defaultdict(int)
    for r in open_tasks:
        if r["status"] in RESERVING_STATUSES:
            reserved[r["article"]] += r["quantity"]
    plan = plan_supply(
        positions, warehouse, {(brand, r["article"], str(r["cluster_id"])) for r in open_tasks}, rules, today,
        await conn.fetchval(_NEXT_SEQUENCE, today), reserved=reserved,
        open_alerts=await _open_alerts(conn, brand, {AlertType.WAREHOUSE_LOW}))
    names = {p.cluster: p.cluster_name for p in positions}
    saved_numbers = {r["task_number"] for r in await conn.fetch(
        _SAVE_TASKS, [_task_record(t, names) for t in plan.tasks], today, brand, ctx.now())}
    saved = [t for t in plan.tasks if t.task_number in saved_numbers]
    by_key = {(p.article, p.cluster): p for p in positions}
    for alert in plan.alerts:
        if alert.type == AlertType.TASKS_GENERATED:
            continue
        await _raise(conn, alert, **_position_details(by_key.get((alert.article, alert.cluster)), rules))
    # DOMAIN.md: a summary per brand each day, also when nothing was needed; a re-run that saves nothing new
    # adds no second summary.
    summarised = await conn.fetchval(
        "SELECT true FROM alerts WHERE module = $1 AND brand_id = $2 AND alert_type = 'TASKS_GENERATED' "
        "AND details->>'plan_date' = $3 LIMIT 1", MODULE, brand, today.isoformat())
    if saved or not summarised:
        await _raise(conn, tasks_generated_alert(brand, saved), task_numbers=[t.task_number for t in saved],
                     plan_date=today.isoformat())
    await _resolve(conn, plan.resolve)
    return saved, SupplySummary.of(saved, len(plan.purchase_required))


@job(module=MODULE, queue="logic", manual=True)
async def generate_supply_tasks(ctx: Ctx, brand_id: BrandId = "all", attempt: int = 0) -> dict:
    """Daily FBO supply tasks (seed 000 §8.4.5). Waits for its inputs (today's brain and analytics syncs, a
    stock sync within the hour): defers itself by 10 minutes up to 6 times, then runs with a DATA_STALE
    warning. Safe to run twice: a position with an open task gets no new one."""
    now = ctx.now()
    today = now.date()
    summary = SupplySummary()
    deferred: list[str] = []
    stale_inputs: dict[str, list[str]] = {}
    for brand in ctx.brands(brand_id):
        rules = _rules(ctx, brand)
        ready = supply_readiness(await _input_runs(ctx.db, brand), now, attempt, rules)
        if ready.decision is Decision.DEFER:
            await ctx.enqueue("logistic.generate_supply_tasks", _defer_by=ready.defer_by.total_seconds(),
                              _job_id=f"logistic:supply-deferred:{today.isoformat()}:{brand}:{attempt + 1}",
                              brand_id=brand, attempt=attempt + 1)
            ctx.log.info("supply_tasks_deferred", brand=brand, missing=list(ready.missing), attempt=attempt + 1)
            deferred.append(brand)
            continue
        async with ctx.db.acquire() as conn, conn.transaction():
            # task numbers are per day across brands: one planner at a time
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", SUPPLY_LOCK)
            if ready.alert is not None:
                stale_inputs[brand] = list(ready.missing)
                await _raise(conn, replace(ready.alert, brand=brand), missing=list(ready.missing),
                             dedup_key=f"DATA_STALE:supply_inputs:{brand}:{today.isoformat()}")
            saved, brand_summary = await _plan_brand(ctx, conn, brand, rules, today)
        for task in saved:
            metrics.SUPPLY_TASKS_GENERATED.labels(str(task.priority)).inc()
        summary = summary + brand_summary
        ctx.log.info("supply_tasks_generated", brand=brand, **brand_summary.as_dict())
    ran = len(ctx.brands(brand_id)) - len(deferred)
    return {"status": "success" if ran else "deferred", **summary.as_dict(), "deferred": deferred,
            "stale_inputs": stale_inputs}


# -- auto_cancel_expired (seed §8.4.6) -------------------------------------------------------------------

_NEW_TASKS = """
SELECT task_number, brand_id, article, cluster_id, status, created_at FROM supply_tasks
WHERE status = 'new' AND created_at < $1 ORDER BY created_at FOR UPDATE SKIP LOCKED
"""
_CANCEL = """
UPDATE supply_tasks SET status = 'cancelled', cancelled_at = $2, updated_at = $2, cancel_reason = $3
WHERE task_number = ANY($1::text[]) AND status = 'new' RETURNING task_number
"""


@job(module=MODULE, queue="logic", manual=True)
async def auto_cancel_expired(ctx: Ctx, max_age_hours: float | None = None) -> dict:
    """Supply tasks still `new` 48 h after creation → `cancelled` + TASK_OVERDUE (seed 000 §8.4.6).
    Safe to run twice: a cancelled task is no longer `new`."""
    now = ctx.now()
    cancelled: list[str] = []
    async with ctx.db.acquire() as conn, conn.transaction():
        by_brand: dict[str, list[TaskState]] = defaultdict(list)
        for r in await conn.fetch(_NEW_TASKS, now):
            by_brand[r["brand_id"]].append(TaskState(r["task_number"], r["brand_id"], r["article"],
                                                     str(r["cluster_id"]), r["status"], r["created_at"]))
        for brand, tasks in by_brand.items():
            rules = _rules(ctx, brand)
            if max_age_hours is not None:
                rules = replace(rules, auto_cancel_hours=max_age_hours)
            plan = plan_auto_cancel(tasks, now, rules)
            done = {r["task_number"] for r in await conn.fetch(
                _CANCEL, list(plan.task_numbers), now, f"auto: not confirmed within {rules.auto_cancel_hours:g} h")}
            for number, alert in zip(plan.task_numbers, plan.alerts):
                if number in done:
                    await _raise(conn, alert, task_number=number)
                    cancelled.append(number)
    result = {"status": "success", "cancelled_count": len(cancelled)}
    if cancelled:
        ctx.log.warning("auto_cancel_expired_completed", task_numbers=cancelled, **result)
    return result


# -- clean-up (seed §8.4.8, §8.4.9) ----------------------------------------------------------------------

@job(module=MODULE, queue="logic", manual=True)
async def cleanup_old_data(ctx: Ctx, retention_days: int | None = None) -> dict:
    """Logistic rows older than the retention (90 days): FBO snapshots, 1C history, resolved alerts,
    completed or cancelled tasks, via the SQL function logistic_cleanup_old_data (seed 000 §8.4.8)."""
    days = retention_days or _rules(ctx).retention_days
    row = await ctx.db.fetchrow("SELECT * FROM logistic_cleanup_old_data($1, $2)", days, ctx.now())
    result = dict(row)
    ctx.log.info("cleanup_old_data_completed", retention_days=days, **result)
    return {"status": "success", "retention_days": days, **result}


@job(module=MODULE, queue="brain")
async def cleanup_stock_history(ctx: Ctx, keep_days: PositiveInt = 90) -> dict:
    """logistic_stock_history rows older than `keep_days` (seed 000 §8.4.9)."""
    cutoff = ctx.now().date() - timedelta(days=keep_days)
    status = await ctx.db.execute("DELETE FROM logistic_stock_history WHERE stock_date < $1", cutoff)
    deleted = int(status.split()[-1])
    if deleted:
        ctx.log.info("cleanup_stock_history_completed", deleted_rows=deleted)
    return {"status": "success", "deleted_rows": deleted}


# -- status section (adolfd status, bot /status) ---------------------------------------------------------

async def logistic_status(redis: Any, db: asyncpg.Pool | None) -> dict[str, Any]:
    """When each brand's inputs last arrived, supply tasks by status, open alerts by type."""
    if db is None:
        return {}
    inputs: dict[str, dict[str, str]] = defaultdict(dict)
    for r in await db.fetch("SELECT brand_id, input, synced_at FROM logistic_sync_state ORDER BY 1, 2"):
        inputs[r["brand_id"]][r["input"]] = r["synced_at"].isoformat()
    tasks = await db.fetch("SELECT brand_id, status, count(*) AS n FROM supply_tasks "
                           "WHERE status = ANY($1::text[]) GROUP BY 1, 2 ORDER BY 1, 2", sorted(OPEN_TASK_STATUSES))
    alerts = await db.fetch("SELECT alert_type, count(*) AS n FROM alerts WHERE module = $1 AND resolved_at IS NULL "
                            "GROUP BY 1 ORDER BY 1", MODULE)
    open_tasks: dict[str, dict[str, int]] = defaultdict(dict)
    for r in tasks:
        open_tasks[r["brand_id"]][r["status"]] = r["n"]
    return {"inputs": dict(inputs), "open_tasks": dict(open_tasks),
            "open_alerts": {r["alert_type"]: r["n"] for r in alerts}}


status_sections.SECTIONS["logistic"] = logistic_status


# `arq adolfd.workers.logistic.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("logistic")

