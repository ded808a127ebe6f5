"""Health check (seed 001 §7.9) and the Office Dashboard heartbeat (seed 001 App. B.5)."""
from __future__ import annotations

from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.workers.watcher.office import AGENTS, reporter
from adolfd.workers.watcher.queues import queue_lengths


@job(queue="default", timeout=30, manual=True)
async def health_check(ctx: Ctx) -> dict:
    """Redis, PostgreSQL and the agents' queue lengths; an error is reported, not raised."""
    checks: dict[str, object] = {}
    try:
        await ctx.redis.ping()
        checks["redis"] = "ok"
        for market, n in (await queue_lengths(ctx.redis)).items():
            checks[f"queue_{market}"] = n
    except Exception as exc:  # a health check reports every failure as data
        checks["redis"] = f"error: {type(exc).__name__}: {exc}"
    try:
        await ctx.db.fetchval("SELECT 1")
        checks["postgresql"] = "ok"
    except Exception as exc:
        checks["postgresql"] = f"error: {type(exc).__name__}: {exc}"
    healthy = checks["redis"] == "ok" and checks["postgresql"] == "ok"
    return {"status": "healthy" if healthy else "unhealthy", "checks": checks}


@job(queue="default")
async def office_heartbeat(ctx: Ctx) -> dict:
    """Every minute: the three watcher agents stay on the Office Dashboard (seed 001 App. B.5)."""
    for name in AGENTS:
        await reporter(ctx, name).heartbeat()
    return {"success": True, "agents": len(AGENTS)}
