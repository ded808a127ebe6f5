"""Agent health (seed 001 §7.5): the event stream consumer, offline detection, hand-back, cookies, panic.

`consume_agent_events` runs every minute and reads the stream for most of it (docs/agents.md §3), so an
event waits milliseconds, not a minute. The night agent of the Office Dashboard (seed App. B.4) reports the
night batch — the agents' results arriving between 00:00 and 06:00 — from here.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from adolfd.domain.watcher.agents import AgentState, aggregate, gone_offline
from adolfd.domain.watcher.recipients import admins
from adolfd.engine.arguments import Details, Id, Text, between
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.engine.retry import RetryPolicy
from adolfd.keys import WATCHER_AGENTS_STATS as AGENTS_STATS
from adolfd.keys import WATCHER_AGENTS_STATS_TTL as AGENTS_STATS_TTL
from adolfd.keys import WATCHER_CLAIMED as CLAIMED
from adolfd.keys import WATCHER_NIGHT_BATCH as NIGHT_BATCH
from adolfd.workers.watcher.apply import enter_panic
from adolfd.workers.watcher.consumer import Consumer, run_effects
from adolfd.workers.watcher.handback import claimed_ids, hand_back
from adolfd.workers.watcher.notify import active_users, tell
from adolfd.workers.watcher.office import reporter
from adolfd.workers.watcher.queues import flush_requeues, queue_lengths

NIGHT_HOURS = range(0, 6)


async def _night_batch(ctx: Ctx, results: int) -> None:
    """Seed App. B.4: working while results arrive at night, idle with the night's figures once the queues
    are empty."""
    now = ctx.now()
    key = NIGHT_BATCH.format(date=now.date().isoformat())
    office = reporter(ctx, "night_agent")
    if now.hour not in NIGHT_HOURS:
        return
    if results:
        await ctx.redis.hincrby(key, "products_scanned", results)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        await ctx.redis.expire(key, 2 * 86400)
        await office.report_working("Ночное сканирование цен")
    elif sum((await queue_lengths(ctx.redis)).values()) == 0 and await ctx.redis.exists(key):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        changes = await ctx.db.fetchval("SELECT count(*) FROM watcher_alerts WHERE created_at >= $1", midnight)
        scanned = int(await ctx.redis.hget(key, "products_scanned") or 0)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        await office.report_idle(metrics={"products_scanned": scanned, "price_changes_found": changes})


@job(queue="default", manual=True)
async def consume_agent_events(ctx: Ctx, seconds: Annotated[float, between(0, 55, "seconds")] = 50.0) -> dict:
    """Apply the agents' events for `seconds` (docs/agents.md), or until this process begins to stop: a
    `systemctl stop` then waits at most a second for it, not the rest of the minute. Safe to run twice or side
    by side: a consumer group hands each event to one consumer, and an event id is applied once."""
    consumer = Consumer(ctx.db, ctx.redis, ctx.now, reclaim_idle_ms=ctx.settings.watcher.reclaim_idle_ms)
    report = (await consumer.run(seconds, stopping=lambda: ctx.stopping) if seconds > 0
              else await consumer.drain())
    await _night_batch(ctx, report.by_type.get("price_result", 0))
    return report.as_result()


@job(queue="critical", manual=True)
async def sync_agent_status(ctx: Ctx) -> dict:
    """Agents silent for 3 minutes go offline and their tasks back to the head of the queue (seed 001 §7.5);
    aggregate figures to watcher:agents:stats. Safe to run twice: an offline agent is not handled again."""
    now = ctx.now()
    rows = await ctx.db.fetch("SELECT id, name, status, last_heartbeat FROM watcher_agents")
    silent = gone_offline([AgentState(r["id"], r["name"], r["status"], r["last_heartbeat"]) for r in rows], now,
                          timedelta(seconds=ctx.settings.watcher.offline_after_seconds))
    returned = 0
    for agent in silent:
        returned += await _redistribute(ctx, agent.agent_id, agent.name, mark_offline=True)
    await flush_requeues(ctx.db, ctx.redis)          # also repairs a hand-back a crash left unpushed
    stats = aggregate(r["status"] for r in await ctx.db.fetch("SELECT status FROM watcher_agents"))
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.hset(AGENTS_STATS, mapping={**stats, "updated_at": now.isoformat()})
        pipe.expire(AGENTS_STATS, AGENTS_STATS_TTL)
        await pipe.execute()
    if silent:
        ctx.log.warning("watcher_agents_offline", agents=[a.name for a in silent], tasks_returned=returned)
    return {"status": "success", "offline_count": len(silent), "offline": [a.name for a in silent],
            "tasks_returned": returned, "stats": stats}


async def _redistribute(ctx: Ctx, agent_id: int, name: str, *, mark_offline: bool = False) -> int:
    claimed = claimed_ids(await ctx.redis.lrange(CLAIMED.format(agent=name), 0, -1))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    async with ctx.db.acquire() as conn, conn.transaction():
        if mark_offline:
            changed = await conn.fetchval(
                "UPDATE watcher_agents SET status = 'offline' WHERE id = $1 AND status IN ('online','working') "
                "RETURNING id", agent_id)
            if changed is None:
                return 0
            await conn.execute("INSERT INTO watcher_agent_logs (agent_id, event_type, severity, message, created_at)"
                               " VALUES ($1, 'offline', 'warning', 'no heartbeat for 3 minutes', $2)",
                               agent_id, ctx.now())
        freed = await hand_back(conn, agent_id, claimed)
    await run_effects(ctx.db, ctx.redis, [{"op": "flush"}, {"op": "del", "key": CLAIMED.format(agent=name)}],
                      ctx.now())
    return len(freed)


@job(queue="critical", retry=RetryPolicy(2, 30), timeout=120, manual=True)
async def redistribute_agent_tasks(ctx: Ctx, agent_id: Id) -> dict:
    """An agent's in-progress and claimed tasks back to the head of their queue, in their original order
    (seed 001 §7.5; the seed reversed them). Safe to run twice: the second run finds nothing to return."""
    name = await ctx.db.fetchval("SELECT name FROM watcher_agents WHERE id = $1", agent_id)
    if name is None:
        return {"status": "agent_not_found"}
    returned = await _redistribute(ctx, agent_id, name)
    return {"status": "success" if returned else "no_tasks", "redistributed_count": returned}


@job(queue="critical", manual=True)
async def check_cookies_validity(ctx: Ctx) -> dict:
    """Agents with invalid cookies, told to the admins at 19:30, before the cookies are copied (seed 001 §7.5).
    The seed called send_alert_notification with arguments it does not take; this raises one admin alert per
    day instead. Safe to run twice: the alert is keyed by the day."""
    names = [r["name"] for r in await ctx.db.fetch(
        "SELECT name FROM watcher_agents WHERE NOT cookies_valid ORDER BY name")]
    if names:
        async with ctx.db.acquire() as conn, conn.transaction():
            await tell(conn, admins(await active_users(conn)), alert_type="cookies_warning", severity="warning",
                       message=f"Агенты с невалидными cookies: {', '.join(names)}",
                       dedup_key=f"cookies:{ctx.now().date().isoformat()}", now=ctx.now(), agents=names)
    return {"status": "success", "invalid_count": len(names), "agents": names}


@job(queue="critical", retry=RetryPolicy(2, 10), timeout=60, manual=True,
     destructive="stops the agent, blocks its IP for 1 h and takes its tasks back")
async def handle_panic_mode(ctx: Ctx, agent_id: Id, reason: Text, details: Details | None = None) -> dict:
    """Panic from outside the stream (an operator, another system): agent to panic, logged, IP blocked for 1 h,
    tasks back to the head of the queue, admins told (seed 001 §7.5). `details` may be absent or carry no IP
    (the seed assumed a dict with one). Safe to run twice: the admins' alert is keyed by the job."""
    details = details or {}
    ip = details.get("ip") if isinstance(details.get("ip"), str) else None
    name = await ctx.db.fetchval("SELECT name FROM watcher_agents WHERE id = $1", agent_id)
    if name is None:
        return {"status": "agent_not_found"}
    claimed = claimed_ids(await ctx.redis.lrange(CLAIMED.format(agent=name), 0, -1))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    async with ctx.db.acquire() as conn, conn.transaction():
        effects = await enter_panic(conn, agent_id, name, reason=reason, ip=ip, message=reason, details=details,
                                    claimed=claimed, now=ctx.now(), key=f"job:{ctx.job_id}")
    await run_effects(ctx.db, ctx.redis, effects, ctx.now())
    return {"status": "success", "ip_blocked": ip}
