"""1C warehouse stock from the brain_* tables (seed 000 §8.4.4) and their freshness check (seed 000 §8.4.4a)."""
from __future__ import annotations

import math
from typing import Any

import asyncpg

from adolfd.domain.logistic.brain_validation import BalanceRow, is_stale, validate_balance_rows
from adolfd.domain.logistic.freshness import BRAIN_TABLES, check_freshness
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.process import metrics
from adolfd.workers.logistic import MODULE_NAME
from adolfd.workers.logistic.alerts import _raise
from adolfd.workers.logistic.inputs import _MARK_INPUT, _rules


class CatalogueMissing(RuntimeError):
    """sync_brain_stocks needs the articles sync_ozon_stocks stores; retried by the job's policy."""


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


@job(queue="brain", manual=True)
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


_NEWEST_LOADS = "SELECT " + ", ".join(f"(SELECT max(loaded_at) FROM {t}) AS {t}" for t in BRAIN_TABLES)
_STALE_KEY = "DATA_STALE:brain:"


@job(queue="brain", manual=True)
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
            "AND dedup_key LIKE $2 AND dedup_key <> $3", MODULE_NAME, f"{_STALE_KEY}%",
            today_key if report.alert else "")
        if report.alert:
            await _raise(conn, report.alert, dedup_key=today_key, stale=list(report.stale))
    ctx.log.info("check_brain_freshness_completed", **report.as_result())
    return report.as_result()
