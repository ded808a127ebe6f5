"""Daily statistics at 08:00 and the weekly report on Mondays at 09:00 (seed 001 §7.8). A day is stored as one
JSON document (`watcher:daily_stats:{date}`, 90 days) and read back typed; the seed stored `str(dict)` and its
weekly report could not parse it. The report goes to the admins' chats once per week."""
from __future__ import annotations

import json
from datetime import date, timedelta

from adolfd.domain.watcher.recipients import admins
from adolfd.domain.watcher.stats import DailyStats, render_weekly, weekly_report
from adolfd.engine.arguments import JobDate
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.keys import WATCHER_DAILY_STATS as DAILY_STATS
from adolfd.keys import WATCHER_DAILY_STATS_TTL as DAILY_STATS_TTL
from adolfd.workers.watcher.notify import active_users, tell


async def _day(ctx: Ctx, day: date) -> DailyStats:
    tasks = {r["status"]: r for r in await ctx.db.fetch(
        "SELECT status, count(*) AS n, avg(execution_time_ms)::float AS avg_ms FROM watcher_tasks "
        "WHERE scheduled_date = $1 GROUP BY status", day)}
    markets = await ctx.db.fetch("SELECT marketplace, count(*) AS n FROM watcher_tasks WHERE scheduled_date = $1 "
                                 "AND status = 'completed' GROUP BY marketplace", day)
    start = ctx.now().replace(year=day.year, month=day.month, day=day.day, hour=0, minute=0, second=0, microsecond=0)
    alerts = await ctx.db.fetch("SELECT alert_type, count(*) AS n FROM watcher_alerts WHERE created_at >= $1 "
                                "AND created_at < $2 GROUP BY alert_type", start, start + timedelta(days=1))
    completed = tasks.get("completed")
    return DailyStats(day, sum(r["n"] for r in tasks.values()), completed["n"] if completed else 0,
                      tasks["failed"]["n"] if "failed" in tasks else 0,
                      round(completed["avg_ms"], 1) if completed and completed["avg_ms"] is not None else None,
                      {r["marketplace"]: r["n"] for r in markets}, {r["alert_type"]: r["n"] for r in alerts})


@job(queue="default", manual=True)
async def generate_daily_stats(ctx: Ctx, target_date: JobDate | None = None) -> dict:
    """Yesterday's figures (seed 001 §7.8). Safe to run twice: the day's document is overwritten."""
    day = target_date or ctx.now().date() - timedelta(days=1)
    stats = await _day(ctx, day)
    await ctx.redis.set(DAILY_STATS.format(date=day.isoformat()), json.dumps(stats.as_json()), ex=DAILY_STATS_TTL)
    return {"status": "success", "date": day.isoformat(), "stats": stats.as_json()}


@job(queue="default", manual=True)
async def generate_weekly_report(ctx: Ctx) -> dict:
    """The last seven days summed and sent to the admins (seed 001 §7.8). Safe to run twice: the message is
    keyed by the week."""
    today = ctx.now().date()
    first, last = today - timedelta(days=7), today - timedelta(days=1)
    raw = await ctx.redis.mget([DAILY_STATS.format(date=(first + timedelta(days=i)).isoformat()) for i in range(7)])
    days = [DailyStats.from_json(json.loads(r)) for r in raw if r]
    if not days:
        return {"status": "no_data"}
    report = weekly_report(days, first, last)
    async with ctx.db.acquire() as conn, conn.transaction():
        alert_id = await tell(conn, admins(await active_users(conn)), alert_type="weekly_report", severity="info",
                              message=render_weekly(report), dedup_key=f"weekly:{first.isoformat()}", now=ctx.now(),
                              report=report)
    return {"status": "success", "report": report, "platform_alert_id": alert_id}
