"""The whole system at a glance, as data: `adolfd status` prints it, the bot sends it, both from here."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from arq.connections import ArqRedis

from adolfd.cron import TABLE, CronEntry
from adolfd.engine.module import StatusSection
from adolfd.engine.runbook import last_runs
from adolfd.engine.scheduler import previous_fire

OVERDUE_SLACK = timedelta(minutes=5)


def is_overdue(entry: CronEntry, last: dict[str, Any] | None, now: datetime) -> bool:
    """An enabled schedule that ran before but whose latest fire time (older than the slack) saw no start."""
    if not entry.enabled or last is None:
        return False
    fire = previous_fire(entry, now - OVERDUE_SLACK)
    return datetime.fromisoformat(last["started"]) < fire - timedelta(seconds=1)


async def queue_status(redis: ArqRedis) -> list[dict[str, Any]]:
    from adolfd.modules import queue_names

    out = []
    for name in queue_names():
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zcard(name)
            pipe.zcount(name, "-inf", datetime.now(UTC).timestamp() * 1000)
            pipe.get(name + ":health-check")
            depth, ready, health = await pipe.execute()
        info = dict(part.split("=", 1) for part in health.decode().split() if "=" in part) if health else {}
        out.append({"queue": name, "depth": depth, "ready": ready, "worker_alive": health is not None,
                    "running": int(info.get("j_ongoing", 0)), "complete": int(info.get("j_complete", 0)),
                    "failed": int(info.get("j_failed", 0))})
    return out


async def cron_status(redis: ArqRedis, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    runs = await last_runs(redis)
    out = []
    for entry in TABLE:
        last = runs.get(f"{entry.module}.{entry.name}")
        out.append({
            "module": entry.module, "job": entry.name, "enabled": entry.enabled, "cron": entry.cron,
            "second": entry.second, "last_started": last and last.get("started"),
            "outcome": last and last.get("outcome"), "duration": last and last.get("duration"),
            "overdue": is_overdue(entry, last, now), "never_run": entry.enabled and last is None,
        })
    return out


async def failed_summary(db: asyncpg.Pool) -> dict[str, Any]:
    row = await db.fetchrow("SELECT count(*) AS open, max(failed_at) AS newest FROM failed_jobs "
                            "WHERE retried_at IS NULL")
    return {"open": row["open"], "newest": row["newest"]}


async def alerts_section(redis: ArqRedis, db: asyncpg.Pool | None) -> Any:
    """Alert delivery's state; loaded only when status is asked for (delivery pulls in aiogram)."""
    from adolfd.admin.alert_delivery import alert_status

    return await alert_status(redis, db)


def sections() -> dict[str, StatusSection]:
    """The platform's sections, then every module's (breakers, bid cycle, kill switch …)."""
    from adolfd.modules import MODULES

    found: dict[str, StatusSection] = {"alerts": alerts_section}
    for module in MODULES:
        found.update(module.loaded("status"))
    return found


async def system_status(redis: ArqRedis, db: asyncpg.Pool | None) -> dict[str, Any]:
    status: dict[str, Any] = {"time": datetime.now(UTC).isoformat(),
                              "queues": await queue_status(redis), "cron": await cron_status(redis)}
    if db is not None:
        status["failed_jobs"] = await failed_summary(db)
    for name, section in sections().items():
        status[name] = await section(redis, db)
    return status


def schedule_rows(now: datetime) -> list[dict[str, Any]]:
    from adolfd.cron import TABLE
    from adolfd.engine.scheduler import next_fires

    return [{
        "job": e.name, "module": e.module, "queue": e.queue, "cron": e.cron, "second": e.second,
        "timezone": e.tz.key, "enabled": e.enabled,
        "next": [t.isoformat() for t in next_fires(e, now, 3)],
    } for e in TABLE]
