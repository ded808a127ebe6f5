"""Retention (seed 001 §7.6; DOMAIN.md "Watcher"): tasks 90 days, agent logs 30 days, resolved alerts 365
days, orphaned Redis keys. Each deletes only what is past retention by `ctx.now()`, so running twice deletes
nothing more. `VACUUM ANALYZE` cannot run inside a transaction block (the seed ran it inside one): it runs on
its own connection in autocommit, after the delete has committed."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from adolfd.engine.arguments import between
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.keys import WATCHER_AGENT_STATE_PATTERN as AGENT_STATE_PATTERN
from adolfd.keys import WATCHER_CLAIMED_PATTERN as CLAIMED_PATTERN
from adolfd.keys import WATCHER_STATS_PATTERN as STATS_PATTERN

SCAN_COUNT = 500


@job(queue="default", manual=True, destructive="deletes watcher tasks scheduled more than `days` ago (default 90)")
async def cleanup_old_tasks(ctx: Ctx, days: Annotated[int, between(90, 3650, "days")] = 90) -> dict:
    """Tasks scheduled more than `days` ago, then VACUUM ANALYZE watcher_tasks (seed 001 §7.6)."""
    cutoff = ctx.now().date() - timedelta(days=days)
    deleted = await ctx.db.execute("DELETE FROM watcher_tasks WHERE scheduled_date < $1", cutoff)
    async with ctx.db.acquire() as conn:           # autocommit: no transaction is open on this connection
        await conn.execute("VACUUM ANALYZE watcher_tasks")
    return {"status": "success", "deleted_count": int(deleted.split()[-1]), "cutoff_date": cutoff.isoformat()}


@job(queue="default", manual=True, destructive="deletes agent logs older than `days` (default 30)")
async def cleanup_old_logs(ctx: Ctx, days: Annotated[int, between(30, 3650, "days")] = 30) -> dict:
    """Agent logs older than `days` (seed 001 §7.6), and applied-event ids as old (redelivery is long over)."""
    cutoff = ctx.now() - timedelta(days=days)
    deleted = await ctx.db.execute("DELETE FROM watcher_agent_logs WHERE created_at < $1", cutoff)
    events = await ctx.db.execute("DELETE FROM watcher_applied_events WHERE applied_at < $1", cutoff)
    return {"status": "success", "deleted_count": int(deleted.split()[-1]),
            "applied_events_deleted": int(events.split()[-1])}


@job(queue="default", manual=True, destructive="deletes resolved alerts older than `days` (default 365)")
async def cleanup_resolved_alerts(ctx: Ctx, days: Annotated[int, between(365, 3650, "days")] = 365) -> dict:
    """Resolved alerts created more than `days` ago (seed 001 §7.6, weekly)."""
    cutoff = ctx.now() - timedelta(days=days)
    deleted = await ctx.db.execute("DELETE FROM watcher_alerts WHERE is_resolved AND created_at < $1", cutoff)
    return {"status": "success", "deleted_count": int(deleted.split()[-1])}


def _agent_of(key: bytes, prefix: str, suffix: str = "") -> str:
    text = key.decode()
    return text[len(prefix): len(text) - len(suffix) if suffix else None]


@job(queue="default", manual=True, destructive="deletes watcher Redis keys of agents no longer in the database")
async def cleanup_redis_keys(ctx: Ctx) -> dict:
    """Stale watcher keys (seed 001 §7.6), found with SCAN, never KEYS: `watcher:stats:*` without a TTL, and
    per-agent keys (`watcher:agent:*:state`, empty claimed lists aside) of agents no longer in the database."""
    deleted = 0
    async for key in ctx.redis.scan_iter(match=STATS_PATTERN, count=SCAN_COUNT):
        if await ctx.redis.ttl(key) == -1:
            deleted += await ctx.redis.delete(key)
    known = {r["name"] for r in await ctx.db.fetch("SELECT name FROM watcher_agents")}
    for pattern in (AGENT_STATE_PATTERN, CLAIMED_PATTERN):
        prefix, suffix = pattern.split("*")
        async for key in ctx.redis.scan_iter(match=pattern, count=SCAN_COUNT):
            if _agent_of(key, prefix, suffix) not in known:
                deleted += await ctx.redis.delete(key)
    return {"status": "success", "deleted_count": deleted}
