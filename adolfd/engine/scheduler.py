"""From the cron table to jobs that start on their second.

`arq_cron(entry)` turns a row into `arq.cron.cron(...)` (used by the plain `arq` CLI settings and checked
against croniter in the tests). In `adolfd worker`, `CronScheduler` fires the same CronJobs itself: it sleeps
until each fire time, enqueues the job half a second ahead with its exact score, and at the fire time wakes the
queue's worker, so jobs start within milliseconds instead of at ARQ's next poll (0.1–0.6 s late).

Each fire time is claimed once in PostgreSQL (`cron_fires`), so several workers or hosts never start it twice,
and a daily job missed while no worker ran is caught up once when a worker starts within the grace window.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import asyncpg
import structlog
from arq.connections import ArqRedis
from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from croniter import croniter

from adolfd.cron import TABLE, CronEntry
from adolfd.engine.enqueue import WAKE_CHANNEL
from adolfd.engine.outage import REDIS_DOWN, Backoff, until_done
from adolfd.keys import CRON_CLAIM

log = structlog.get_logger(__name__)
LEAD_SECONDS = 0.5          # enqueue this long before the fire time (deferred to the exact millisecond)
CATCH_UP_MIN_PERIOD = 3600  # DOMAIN.md: only jobs that fire hourly or less often are caught up
STALE_SECONDS = 60          # a fire time this far behind (Redis and PostgreSQL both down) is skipped


def _expand(field: str, low: int, high: int) -> set[int] | None:
    if field == "*":
        return None
    values: set[int] = set()
    for part in field.split(","):
        base, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-")
            start, end = int(a), int(b)
        else:
            start = int(base)
            end = high if step_s else start
        if not (low <= start <= high and low <= end <= high):
            raise ValueError(f"cron field {field!r} outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


class CronFields(TypedDict):
    """A crontab expression as ARQ's `cron()` takes it (None = every value)."""
    minute: set[int] | None
    hour: set[int] | None
    day: set[int] | None
    month: set[int] | None
    weekday: set[int] | None


def cron_options(expr: str) -> CronFields:
    """5-field crontab → arq.cron keyword sets. Cron weekdays count from Sunday=0, ARQ's from Monday=0."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"crontab {expr!r} needs 5 fields")
    minute, hour, day, month, weekday = fields
    days = _expand(day, 1, 31)
    weekdays = _expand(weekday, 0, 7)
    if days is not None and weekdays is not None:
        raise ValueError(f"crontab {expr!r}: day-of-month and day-of-week together mean OR in cron; not supported")
    return {
        "minute": _expand(minute, 0, 59),
        "hour": _expand(hour, 0, 23),
        "day": days,
        "month": _expand(month, 1, 12),
        "weekday": None if weekdays is None else {(d - 1) % 7 for d in weekdays},
    }


def schedule_name(entry: CronEntry) -> str:
    return f"cron:{entry.name}"


def arq_cron(entry: CronEntry, coroutine: WorkerCoroutine) -> CronJob:
    return cron(coroutine, name=schedule_name(entry), second=entry.second, microsecond=0,
                timeout=entry.timeout + 10, keep_result=86400, max_tries=entry.retry.tries + 4,
                unique=True, **cron_options(entry.cron))


async def _never_run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> None:
    """The coroutine of a CronJob that only computes fire times (`next_fires`)."""


def next_run(job: CronJob) -> datetime:
    """ARQ's `next_run`, which every `calculate_next` sets (it is None only before the first)."""
    if job.next_run is None:
        raise RuntimeError(f"cron job {job.name!r} has no next run before calculate_next")
    return job.next_run


def next_fires(entry: CronEntry, after: datetime, count: int = 3) -> list[datetime]:
    """The next fire times, via ARQ's own next_cron, in the entry's timezone."""
    job = CronJob(name=entry.name, coroutine=_never_run, second=entry.second, microsecond=0,
                  run_at_startup=False, unique=True, job_id=None, timeout_s=None, keep_result_s=None,
                  keep_result_forever=None, max_tries=None, **cron_options(entry.cron))
    out, current = [], after.astimezone(entry.tz)
    for _ in range(count):
        job.calculate_next(current)
        current = next_run(job)
        out.append(current)
    return out


def previous_fire(entry: CronEntry, now: datetime) -> datetime:
    it = croniter(entry.cron, now.astimezone(entry.tz).replace(second=0, microsecond=0) + timedelta(minutes=1))
    fire = it.get_prev(datetime).replace(second=entry.second)
    while fire > now:
        fire = it.get_prev(datetime).replace(second=entry.second)
    return fire


def period_seconds(entry: CronEntry, at: datetime) -> float:
    a, b = next_fires(entry, at, 2)
    return (b - a).total_seconds()


def fire_job_id(entry: CronEntry, fire: datetime) -> str:
    return f"{schedule_name(entry)}:{int(fire.timestamp() * 1000)}"


@dataclass
class Scheduled:
    entry: CronEntry
    job: CronJob


class CronScheduler:
    def __init__(self, redis: ArqRedis, db: asyncpg.Pool, scheduled: Iterable[Scheduled],
                 wake: Callable[[str], None], grace_hours: float = 6.0) -> None:
        self.redis = redis
        self.db = db
        self.items = list(scheduled)
        self.wake = wake
        self.grace = timedelta(hours=grace_hours)
        self.outage = Backoff("cron_scheduler")

    async def claim(self, entry: CronEntry, fire: datetime) -> bool:
        """True for exactly one caller per (schedule, fire time) across all processes and hosts."""
        try:
            return bool(await self.db.fetchval(
                "INSERT INTO cron_fires (module, name, fire_time) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING true", entry.module, entry.name, fire))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cron_claim_fallback_redis", schedule=entry.name, reason=str(exc))
            key = CRON_CLAIM.format(module=entry.module, name=entry.name, epoch=int(fire.timestamp()))
            return bool(await self.redis.set(key, b"1", nx=True, ex=2 * 86400))

    async def fire(self, item: Scheduled, fire: datetime, *, caught_up: bool = False) -> bool:
        entry = item.entry
        if not await self.claim(entry, fire):
            return False
        defer = fire if fire.timestamp() > time.time() else None
        # Claimed means ours alone to enqueue: keep trying through a Redis outage (the job id makes it once).
        await until_done(lambda: self.redis.enqueue_job(item.job.name, _job_id=fire_job_id(entry, fire),
                                                        _queue_name=entry.queue_name, _defer_until=defer),
                         self.outage)
        if caught_up:
            log.warning("cron_missed_run_caught_up", schedule=entry.name, module=entry.module,
                        fire_time=fire.isoformat())
        return True

    async def catch_up(self, now: datetime) -> int:
        """DOMAIN.md "Missed runs": one run per job whose last fire passed unclaimed within the grace window."""
        missed = []
        for item in self.items:
            if period_seconds(item.entry, now) >= CATCH_UP_MIN_PERIOD:
                prev = previous_fire(item.entry, now)
                if now - prev <= self.grace:
                    missed.append((item, prev))
        # At once, not one after another: a start-up with the whole table catching up took ~0.6 s, and fires
        # due meanwhile waited for it.
        fired = await asyncio.gather(*(self.fire(item, prev, caught_up=True) for item, prev in missed))
        for (item, _), ok in zip(missed, fired, strict=True):
            if ok:
                self._wake(item.entry.queue_name)
        return sum(fired)

    def _wake(self, queue: str) -> None:
        self.wake(queue)

    async def run(self) -> None:
        if not self.items:
            await asyncio.Event().wait()   # nothing to fire; idle until cancelled
        now = datetime.now(UTC)
        await self.catch_up(now)
        for item in self.items:
            item.job.calculate_next(now.astimezone(item.entry.tz))
        while True:
            upcoming = min(next_run(item.job) for item in self.items)
            delay = upcoming.timestamp() - time.time()
            if delay > LEAD_SECONDS:
                await asyncio.sleep(min(delay - LEAD_SECONDS, 60.0))
                continue
            due = [item for item in self.items if item.job.next_run == upcoming]
            if -delay > STALE_SECONDS:
                # An outage held the loop past this fire time: the catch-up rule, not a burst of old fires.
                log.warning("cron_fires_skipped", schedules=[item.entry.name for item in due],
                            fire_time=upcoming.isoformat())
                for item in due:
                    item.job.calculate_next(datetime.now(UTC).astimezone(item.entry.tz))
                continue
            claimed = await asyncio.gather(*(self.fire(item, upcoming) for item in due))
            fired = [item for item, ok in zip(due, claimed, strict=True) if ok]
            for item in due:
                item.job.calculate_next(upcoming)
            await asyncio.sleep(max(upcoming.timestamp() - time.time(), 0))
            queues = sorted({item.entry.queue_name for item in fired})
            for queue in queues:        # this process's workers first: no round trip before any of them polls
                self._wake(queue)
            await self.announce(queues)

    async def announce(self, queues: list[str]) -> None:
        """Other processes' wake-up, every queue in one round trip; they poll anyway if it is lost."""
        if not queues:
            return
        with contextlib.suppress(*REDIS_DOWN):
            async with self.redis.pipeline(transaction=False) as pipe:
                for queue in queues:
                    pipe.publish(WAKE_CHANNEL, queue)
                await pipe.execute()


def entries(module: str | None = None, queue: str | None = None, *, enabled_only: bool = True) -> list[CronEntry]:
    return [e for e in TABLE if (module is None or e.module == module) and (queue is None or e.queue == queue)
            and (e.enabled or not enabled_only)]
