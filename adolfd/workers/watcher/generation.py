"""The night's parsing tasks (seed 001 §7.3), reported to the Office Dashboard as B.3 shows.

`generate_daily_tasks` creates one task per active target (our product, or a competitor of an active
product) and marketplace for the night of `scheduled_date`, numbered in priority order — our own products
first (their price is what dumping is measured against), then competitors by priority, highest first — and
appends the ids to `watcher:task_queue:{marketplace}`. Safe to run twice for a date: rows are unique per
(target, marketplace, date) and the push skips ids already pushed for that night, so a second run (or a retry
after a crash between insert and push) creates no row and pushes no id twice.
"""
from __future__ import annotations

from datetime import date

from adolfd.domain.watcher.marketplaces import MARKETPLACES, agent_name
from adolfd.engine.arguments import JobDate
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.keys import WATCHER_GENERATION as GENERATION
from adolfd.keys import WATCHER_GENERATION_TTL as GENERATION_TTL
from adolfd.workers.watcher.office import reporter
from adolfd.workers.watcher.queues import flush_requeues, push_night, write_payloads

GENERATION_LOCK = 0x4AD002

_CREATE = """
WITH targets AS (
    SELECT 'product' AS target_type, p.id AS target_id, p.sku, p.url, p.marketplace, 101 AS rank
    FROM watcher_products p WHERE p.is_active
    UNION ALL
    SELECT 'competitor', c.id, c.competitor_sku, c.url, c.marketplace, c.priority
    FROM watcher_competitors c
    JOIN watcher_products p ON p.sku = c.our_sku AND p.marketplace = c.marketplace AND p.is_active
    WHERE c.is_active
)
INSERT INTO watcher_tasks (target_type, target_id, sku, url, marketplace, scheduled_date, seq, priority)
SELECT target_type, target_id, sku, url, marketplace, $1,
       $2 + row_number() OVER (ORDER BY rank DESC, target_type DESC, target_id), least(rank, 100)
FROM targets
ON CONFLICT (target_type, target_id, marketplace, scheduled_date) DO NOTHING
RETURNING id
"""
_NIGHT = """
SELECT id, sku, url, marketplace, target_type, scheduled_date FROM watcher_tasks
WHERE scheduled_date = $1 AND status = 'pending' ORDER BY seq
"""


async def _generate(ctx: Ctx, night: date) -> dict:
    async with ctx.db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", GENERATION_LOCK, night.toordinal())
        base = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM watcher_tasks WHERE scheduled_date = $1",
                                   night)
        created = len(await conn.fetch(_CREATE, night, base))
    tasks = await ctx.db.fetch(_NIGHT, night)
    await write_payloads(ctx.redis, tasks)
    pushed = {m: await push_night(ctx.redis, night.isoformat(), m, [t["id"] for t in tasks if t["marketplace"] == m])
              for m in MARKETPLACES}
    totals = {r["marketplace"]: r["n"] for r in await ctx.db.fetch(
        "SELECT marketplace, count(*) AS n FROM watcher_tasks WHERE scheduled_date = $1 GROUP BY marketplace", night)}
    return {"created": created, "pushed": sum(pushed.values()),
            "by_marketplace": {agent_name(m): totals.get(m, 0) for m in MARKETPLACES}}


@job(queue="default", manual=True)
async def generate_daily_tasks(ctx: Ctx, scheduled_date: JobDate | None = None) -> dict:
    """Parsing tasks for the coming night (seed 001 §7.3), record in watcher:generation:{date}. Safe to run
    twice: a second run for the date creates no row and pushes no id."""
    night = scheduled_date or ctx.now().date()
    key = GENERATION.format(date=night.isoformat())
    office = reporter(ctx, "price_monitor")
    await office.report_working("Генерация задач на ночь")
    try:
        stats = await _generate(ctx, night)
    except Exception as exc:
        await ctx.redis.hset(key, mapping={"status": "failed", "error": str(exc)[:500]})  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        await ctx.redis.expire(key, GENERATION_TTL)
        await office.report_error(str(exc))
        raise
    total = sum(stats["by_marketplace"].values())
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"total": total, **stats["by_marketplace"], "created": stats["created"],
                                "pushed": stats["pushed"], "status": "completed",
                                "generated_at": ctx.now().isoformat()})
        pipe.hdel(key, "error")
        pipe.expire(key, GENERATION_TTL)
        await pipe.execute()
    monitored = await ctx.db.fetchval("SELECT count(*) FROM watcher_products WHERE is_active")
    changes = await ctx.db.fetchval(
        "SELECT count(*) FROM watcher_alerts WHERE alert_type = 'price_drop' AND created_at >= $1",
        ctx.now().replace(hour=0, minute=0, second=0, microsecond=0))
    await office.report_idle(metrics={"products_monitored": monitored, "tasks_generated": stats["created"],
                                      "price_changes_today": changes})
    ctx.log.info("watcher_tasks_generated", night=night.isoformat(), created=stats["created"],
                 pushed=stats["pushed"], **stats["by_marketplace"])
    return {"status": "success", "total_tasks": total, "created": stats["created"], "pushed": stats["pushed"],
            "by_marketplace": stats["by_marketplace"]}


@job(queue="default", manual=True)
async def regenerate_failed_tasks(ctx: Ctx, scheduled_date: JobDate | None = None) -> dict:
    """Tasks of a night that failed for good (3 tries) start over (seed 001 §7.3, manual). Safe to run twice:
    the second run finds them pending and does nothing; an id is never pushed twice."""
    night = scheduled_date or ctx.now().date()
    rows = await ctx.db.fetch(
        "UPDATE watcher_tasks SET status = 'pending', retry_count = 0, error = NULL, agent_id = NULL, "
        "started_at = NULL, finished_at = NULL, requeue = 'tail' "
        "WHERE scheduled_date = $1 AND status = 'failed' AND retry_count >= 3 RETURNING id", night)
    if not rows:
        return {"status": "no_failed_tasks"}
    await flush_requeues(ctx.db, ctx.redis)
    return {"status": "success", "regenerated_count": len(rows)}
