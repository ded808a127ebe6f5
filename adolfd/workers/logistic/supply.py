"""Supply tasks: the daily plan (seed 000 §8.4.5) and the auto-cancel of tasks nobody confirmed (seed 000 §8.4.6)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

import asyncpg

from adolfd.domain.logistic.readiness import Decision, supply_readiness
from adolfd.domain.logistic.stock_monitor import AlertType, LogisticRules
from adolfd.domain.logistic.supply_engine import (
    OPEN_TASK_STATUSES,
    SupplySummary,
    SupplyTask,
    TaskState,
    plan_auto_cancel,
    plan_supply,
    tasks_generated_alert,
    urgent_tasks,
)
from adolfd.engine.arguments import BrandId
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.keys import LOGISTIC_SUPPLY_DEFERRED_JOB
from adolfd.process import metrics
from adolfd.workers.logistic import MODULE_NAME
from adolfd.workers.logistic.alerts import _open_alerts, _raise, _resolve
from adolfd.workers.logistic.inputs import _finite, _input_runs, _rules
from adolfd.workers.logistic.stock_alerts import _position_details, _position_of, _positions
from adolfd.workers.logistic.tasks import confirm_buttons

SUPPLY_LOCK = "logistic.generate_supply_tasks"


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
        await _raise(conn, alert, **_position_details(_position_of(alert, by_key), rules))
    # DOMAIN.md: a summary per brand each day, also when nothing was needed; a re-run that saves nothing new
    # adds no second summary.
    summarised = await conn.fetchval(
        "SELECT true FROM alerts WHERE module = $1 AND brand_id = $2 AND alert_type = 'TASKS_GENERATED' "
        "AND details->>'plan_date' = $3 LIMIT 1", MODULE_NAME, brand, today.isoformat())
    if saved or not summarised:
        urgent = [t.task_number for t in urgent_tasks(saved)]
        await _raise(conn, tasks_generated_alert(brand, saved, names), task_numbers=[t.task_number for t in saved],
                     urgent_task_numbers=urgent, buttons=confirm_buttons(urgent), plan_date=today.isoformat())
    await _resolve(conn, plan.resolve)
    return saved, SupplySummary.of(saved, len(plan.purchase_required))


@job(queue="logic", manual=True)
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
            await ctx.enqueue("logistic.generate_supply_tasks", _defer_by=ready.defer_seconds,
                              _job_id=LOGISTIC_SUPPLY_DEFERRED_JOB.format(day=today.isoformat(), brand=brand,
                                                                           attempt=attempt + 1),
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


_NEW_TASKS = """
SELECT task_number, brand_id, article, cluster_id, status, created_at FROM supply_tasks
WHERE status = 'new' AND created_at < $1 ORDER BY created_at FOR UPDATE SKIP LOCKED
"""
_CANCEL = """
UPDATE supply_tasks SET status = 'cancelled', cancelled_at = $2, updated_at = $2, cancel_reason = $3
WHERE task_number = ANY($1::text[]) AND status = 'new' RETURNING task_number
"""


@job(queue="logic", manual=True)
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
            if done:
                await conn.executemany(
                    "INSERT INTO supply_task_actions (task_number, action, from_status, to_status, actor, reason, "
                    "acted_at) VALUES ($1, 'cancel', 'new', 'cancelled', 'auto', $2, $3)",
                    [(n, f"auto: not confirmed within {rules.auto_cancel_hours:g} h", now) for n in sorted(done)])
            for number, alert in zip(plan.task_numbers, plan.alerts, strict=True):
                if number in done:
                    await _raise(conn, alert, task_number=number)
                    cancelled.append(number)
    result = {"status": "success", "cancelled_count": len(cancelled)}
    if cancelled:
        ctx.log.warning("auto_cancel_expired_completed", task_numbers=cancelled, **result)
    return result
