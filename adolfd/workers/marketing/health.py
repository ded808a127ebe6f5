"""Marketplace API health (seed 002 §7.4.4): one cheap call per marketplace, its status in Redis; and seed 002
§7.4.2's alert thresholds checked on the same beat (every 5 minutes): each breach is one open alert, resolved
when the figure is back within bounds."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from adolfd.admin.alerts import raise_alert, resolve_alerts
from adolfd.domain.marketing.monitoring import MonitoringSnapshot, breaches, possible_keys
from adolfd.engine.context import Ctx
from adolfd.keys import MARKETING_API_CHECKS as API_CHECKS
from adolfd.keys import MARKETING_API_ERRORS as API_ERRORS
from adolfd.keys import MARKETING_API_STATUS as API_STATUS
from adolfd.keys import MARKETING_LAST_CYCLE as LAST_CYCLE
from adolfd.keys import MARKETING_WORKERS as WORKERS
from adolfd.keys import QUEUE as QUEUE_KEY
from adolfd.keys import QUEUE_HEALTH_CHECK
from adolfd.workers.marketing import MODULE_NAME
from adolfd.workers.marketing.ad_account import MARKETPLACES
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.alerts import marketing_job

QUEUES = ("high", "default", "low")


@marketing_job(queue="high")
async def check_api_health(ctx: Ctx) -> dict:
    """A cheap call per marketplace; `marketing:api_status:{mp}` = ok | slow | error with the response time and
    the errors of the last 24 hours (seed §7.4.3)."""
    results = dict(zip(MARKETPLACES, await asyncio.gather(*(_check_one(ctx, mp) for mp in MARKETPLACES)), strict=False))
    # `marketing:workers` (seed §7.4.3): whether a worker of each queue is alive (ARQ's health-check key)
    alive = {queue: int(bool(await ctx.redis.exists(QUEUE_HEALTH_CHECK.format(module=MODULE_NAME, queue=queue))))
             for queue in QUEUES}
    await ctx.redis.hset(WORKERS, mapping=alive)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    thresholds = await check_thresholds(ctx, alive)
    return {**results, "workers": alive, "thresholds": thresholds}


async def monitoring_snapshot(ctx: Ctx, alive: dict[str, int]) -> MonitoringSnapshot:
    """The figures of seed §7.4.2 as Redis holds them now."""
    now = ctx.now()
    raw = await ctx.redis.hgetall(LAST_CYCLE)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    cycle = {k.decode(): v.decode() for k, v in raw.items()}
    duration = None
    if cycle.get("started_at") and cycle.get("finished_at") and cycle.get("status") == "completed":
        duration = (datetime.fromisoformat(cycle["finished_at"])
                    - datetime.fromisoformat(cycle["started_at"])).total_seconds()
    errors = int(cycle["errors"]) if cycle.get("errors", "").isdigit() else None
    lags: dict[str, float | None] = {}
    rates: dict[str, float | None] = {}
    for mp in MARKETPLACES:
        last = await ctx.last_success(f"{MODULE_NAME}.collect_stats_{mp}")
        lags[mp] = None if last is None else (now - last).total_seconds() / 60
        checks = await ctx.redis.zcount(API_CHECKS.format(mp=mp), now.timestamp() - 3600, "+inf")
        failed = await ctx.redis.zcount(API_ERRORS.format(mp=mp), now.timestamp() - 3600, "+inf")
        rates[mp] = 100.0 * failed / checks if checks else None
    queues = {q: int(await ctx.redis.zcard(QUEUE_KEY.format(module=MODULE_NAME, queue=q))) for q in QUEUES}
    return MonitoringSnapshot(duration, errors, lags, rates, queues, {q: bool(v) for q, v in alive.items()})


async def check_thresholds(ctx: Ctx, alive: dict[str, int]) -> dict[str, Any]:
    """Raise one alert per breached threshold (dedup key `threshold:<key>`), resolve the others."""
    snapshot = await monitoring_snapshot(ctx, alive)
    found = breaches(snapshot)
    raised = 0
    for b in found:
        if await raise_alert(ctx.db, module=MODULE_NAME, alert_type=f"THRESHOLD_{b.metric.upper()}",
                             severity=b.severity, message=b.message, details={"metric": b.metric, "key": b.key},
                             dedup_key=f"threshold:{b.key}") is not None:
            raised += 1
    normal = sorted(possible_keys(snapshot) - {b.key for b in found})
    resolved = await resolve_alerts(ctx.db, module=MODULE_NAME, dedup_keys=[f"threshold:{k}" for k in normal])
    if raised or resolved:
        ctx.log.warning("marketing_thresholds", breached=[b.key for b in found], raised=raised, resolved=resolved)
    return {"breached": [b.key for b in found], "raised": raised, "resolved": resolved}


async def _check_one(ctx: Ctx, marketplace: str) -> dict[str, Any]:
    key, errors_key = API_STATUS.format(mp=marketplace), API_ERRORS.format(mp=marketplace)
    now = ctx.now()
    acc = None
    for brand in ctx.brands():
        try:
            acc = account(ctx, marketplace, brand)
            break
        except LookupError:
            continue
    if acc is None:
        return {"status": "not_configured"}
    checks_key = API_CHECKS.format(mp=marketplace)
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.zadd(checks_key, {f"{now.timestamp()}:{ctx.job_id}": now.timestamp()})
        pipe.zremrangebyscore(checks_key, "-inf", now.timestamp() - 3600)
        await pipe.execute()
    started = time.perf_counter()
    try:
        await acc.ping()
    except Exception as exc:  # noqa: BLE001 — any failure is this API's health, recorded, not raised
        stamp = now.timestamp()
        async with ctx.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(errors_key, {f"{stamp}:{ctx.job_id}": stamp})
            pipe.zremrangebyscore(errors_key, "-inf", stamp - 86400)
            pipe.zcard(errors_key)
            _, _, count = await pipe.execute()
        await ctx.redis.hset(key, mapping={"status": "error", "last_check": now.isoformat(),  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
                                           "last_error": f"{type(exc).__name__}: {exc}"[:300],
                                           "error_count_24h": count})
        ctx.log.error("api_health_failed", marketplace=marketplace, error=str(exc))
        return {"status": "error", "error": str(exc)[:300]}
    elapsed = int((time.perf_counter() - started) * 1000)
    state = "ok" if elapsed < ctx.settings.marketing.api_slow_ms else "slow"
    await ctx.redis.zremrangebyscore(errors_key, "-inf", now.timestamp() - 86400)
    count = await ctx.redis.zcard(errors_key)
    await ctx.redis.hset(key, mapping={"status": state, "last_check": now.isoformat(), "response_time_ms": elapsed,  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
                                       "error_count_24h": count})
    await ctx.redis.hdel(key, "last_error")  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    return {"status": state, "response_time_ms": elapsed}
