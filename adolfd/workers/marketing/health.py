"""Marketplace API health (seed 002 §7.4.4): one cheap call per marketplace, its status in Redis."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from adolfd.engine.context import Ctx
from adolfd.keys import MARKETING_API_ERRORS as API_ERRORS
from adolfd.keys import MARKETING_API_STATUS as API_STATUS
from adolfd.keys import MARKETING_WORKERS as WORKERS
from adolfd.keys import QUEUE_HEALTH_CHECK
from adolfd.workers.marketing import MODULE_NAME
from adolfd.workers.marketing.ad_account import MARKETPLACES
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.alerts import marketing_job


@marketing_job(queue="high")
async def check_api_health(ctx: Ctx) -> dict:
    """A cheap call per marketplace; `marketing:api_status:{mp}` = ok | slow | error with the response time and
    the errors of the last 24 hours (seed §7.4.3)."""
    results = dict(zip(MARKETPLACES, await asyncio.gather(*(_check_one(ctx, mp) for mp in MARKETPLACES)), strict=False))
    # `marketing:workers` (seed §7.4.3): whether a worker of each queue is alive (ARQ's health-check key)
    alive = {queue: int(bool(await ctx.redis.exists(QUEUE_HEALTH_CHECK.format(module=MODULE_NAME, queue=queue))))
             for queue in ("high", "default", "low")}
    await ctx.redis.hset(WORKERS, mapping=alive)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    return {**results, "workers": alive}


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
