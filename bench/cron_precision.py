"""How late a cron job starts after its fire time: adolfd's scheduler (aiocron timers, and the sleep loop they
replaced) vs ARQ's own cron, idle and while another queue in the same process runs ~1000 jobs/s.

Schedules fire `* * * * *` at every `--every`-th second of the minute on one queue for `--minutes` a run.
Lateness is job start − the intended whole second, for every mode (ARQ's shipped cron fires at .123456 s; that
is part of its lateness, not a different fire time).
- `loop`: the worker group as shipped (one sleep loop over all rows, enqueue 0.5 s ahead, wake-up at the fire time)
- `aiocron`: the same worker group with one aiocron timer per row instead (`AiocronScheduler`; measured, not
  adopted: see docs/performance.md)
- `arq-default`: ARQ's cron as shipped (microsecond=123456, poll_delay 0.5 s)
- `arq-tuned`: ARQ's cron with microsecond=0 and poll_delay 0.05 s
`--loads 0,1000` runs every mode idle and with a producer enqueuing 1000 no-op jobs/s onto a second queue that
an ARQ worker in the same event loop drains.
`--real-table` (adolfd modes) runs `adolfd worker all` instead of one queue and loads every row of
adolfd.cron.TABLE at its own schedule next to the probe rows, each row's job replaced by one that only records
its lateness (fires before the run started, i.e. the start-up catch-up, are not counted): the scheduler carries
the whole table while the probes sample lateness every `--every` seconds. In adolfd modes the probes of the first
5 s (start-up: catch-up, heap freeze) are kept apart: `start_up_late_ms_max`.
`--event-loop uvloop` runs the bench's event loop on uvloop, as `adolfd worker` does when it is installed.
Run: `.venv/bin/python bench/cron_precision.py [--minutes 2] [--every 1] [--modes loop,aiocron] [--loads 0,1000]
[--real-table] [--event-loop uvloop]`.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datetime import UTC

import aiocron  # noqa: E402
from adolfd.engine.enqueue import WAKE_CHANNEL  # noqa: E402
from adolfd.engine.outage import REDIS_DOWN  # noqa: E402
from adolfd.engine.scheduler import LEAD_SECONDS, STALE_SECONDS, CronScheduler  # noqa: E402
from arq import Worker  # noqa: E402
from arq.cron import cron  # noqa: E402

from bench.common import private_redis, redis_commands, scratch  # noqa: E402

SECONDS: list[int] = []
LATENESS: list[float] = []
TABLE_LATENESS: list[float] = []     # the real table's rows that fired during the run (--real-table)
START_UP_LATENESS: list[float] = []  # adolfd's probe fires in its first START_UP_SECONDS (start-up catch-up)
START_UP_SECONDS = 5.0
LOAD_DONE: list[int] = [0]


def _intended(fire: float) -> float:
    """The whole second a row asks for; ARQ's default cron fires 0.123456 s after it."""
    return math.floor(fire)


def _fire_of(job_id: str) -> float:
    return int(job_id.rsplit(":", 1)[1]) / 1000


class FireTimer(aiocron.Cron):
    """aiocron's timer for one row (aiocron 2 parses with cronsim: six fields put the second FIRST), resolving
    LEAD_SECONDS before each fire time; `upcoming` is that fire time. Both clocks are read for every fire."""

    def __init__(self, entry, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(f"{entry.second} {entry.cron}", start=False, tz=entry.tz, loop=loop)
        self.upcoming = None

    def get_next(self) -> float:
        self.upcoming = next(self.cronsim)
        return self.loop.time() + (self.upcoming.timestamp() - LEAD_SECONDS - time.time())


class AiocronScheduler(CronScheduler):
    """The candidate measured against the shipped loop: one aiocron timer per row, same claim, enqueue and wake."""

    async def run(self) -> None:
        from datetime import datetime

        await self.catch_up(datetime.now(UTC))
        async with asyncio.TaskGroup() as rows:
            for item in self.items:
                rows.create_task(self._run_row(item))

    async def _run_row(self, item) -> None:
        timer = FireTimer(item.entry, asyncio.get_running_loop())
        try:
            while True:
                await timer.next()
                fire = timer.upcoming
                if time.time() - fire.timestamp() > STALE_SECONDS:
                    timer.cronsim = None
                    continue
                if await self.fire(item, fire):
                    await asyncio.sleep(max(fire.timestamp() - time.time(), 0))
                    self._wake(item.entry.queue_name)
                    with contextlib.suppress(*REDIS_DOWN):
                        await self.redis.publish(WAKE_CHANNEL, item.entry.queue_name)
        finally:
            timer.stop()


async def record(ctx) -> None:
    LATENESS.append(time.time() - _intended(_fire_of(ctx["job_id"])))


async def noop(ctx) -> None:
    LOAD_DONE[0] += 1


async def produce(redis_url: str, per_second: int) -> None:
    """Enqueue `per_second` no-op jobs a second onto the load queue, until killed (its own process)."""
    from arq.connections import RedisSettings, create_pool

    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    started, sent = time.monotonic(), 0
    while True:
        due = int((time.monotonic() - started) * per_second) - sent
        if due:
            await asyncio.gather(*(redis.enqueue_job("noop", _queue_name="bench:load") for _ in range(due)))
            sent += due
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def load(redis_url: str, per_second: int):
    """A second queue in this event loop running `per_second` no-op jobs a second (0: idle); the producer is
    another process, so only running the jobs shares this loop with the scheduler."""
    if not per_second:
        yield
        return
    from arq.connections import RedisSettings, create_pool

    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    worker = Worker(functions=[noop], queue_name="bench:load", redis_pool=redis, handle_signals=False,
                    poll_delay=0.02, max_jobs=200, keep_result=0)
    consumer = asyncio.create_task(worker.main())
    producer = subprocess.Popen([sys.executable, __file__, "--produce", redis_url, str(per_second)])
    try:
        yield
    finally:
        producer.terminate()
        producer.wait(10)
        consumer.cancel()
        for running in worker.tasks.values():
            running.cancel()
        await asyncio.gather(consumer, *worker.tasks.values(), return_exceptions=True)
        await redis.aclose()


def real_table_rows(group, started: float) -> int:
    """Every row of adolfd.cron.TABLE at its own schedule on its own queue of `group` (`adolfd worker all`), each
    running a job that only records its lateness, so the scheduler carries the whole table and no real work
    runs. Returns the number of rows."""
    from adolfd.cron import TABLE
    from adolfd.engine.execution import arq_function
    from adolfd.engine.jobs import JobSpec, _args_model
    from adolfd.engine.scheduler import Scheduled, arq_cron

    async def table_row(ctx) -> dict:
        if ctx.fire_time.timestamp() >= started:       # not the start-up catch-up of an earlier fire
            TABLE_LATENESS.append(time.time() - ctx.fire_time.timestamp())
        return {"status": "success"}

    group.scheduled.clear()
    for entry in TABLE:
        spec = JobSpec(name=entry.job_name, module=entry.module, queue=entry.queue, func=table_row,
                       args_model=_args_model(table_row, entry.job_name))
        item = Scheduled(entry, arq_cron(entry, arq_function(spec, run_keys=(f"{entry.module}.{entry.name}",))))
        group.scheduled.append(item)
        group.workers[entry.queue_name].functions[item.job.name] = item.job
    return len(TABLE)


async def run_adolfd(db_url: str, redis_url: str, minutes: float, per_second: int, *, loop: bool,
                     real_table: bool = False) -> None:
    from adolfd.cron import MSK, CronEntry
    from adolfd.engine import runtime
    from adolfd.engine.execution import arq_function
    from adolfd.engine.jobs import JobSpec, _args_model
    from adolfd.engine.runtime import WorkerGroup
    from adolfd.engine.scheduler import CronScheduler, Scheduled, arq_cron
    from adolfd.process.heap import freeze_startup_heap
    from adolfd.process.logs import configure
    from adolfd.process.resources import build_resources, close_resources
    from adolfd.settings import Settings

    async def tick(ctx) -> dict:
        fire = _intended(ctx.fire_time.timestamp())
        (LATENESS if fire >= started + START_UP_SECONDS else START_UP_LATENESS).append(time.time() - fire)
        return {"status": "success"}

    configure("warning")
    res = await build_resources(Settings(database_url=db_url, redis_url=redis_url, metrics_port=0))
    spec = JobSpec(name="tick", module="operations", queue="default", func=tick, args_model=_args_model(tick, "tick"))
    group = WorkerGroup("all" if real_table else "operations", res)
    group.build()
    started = time.time()
    if real_table:
        real_table_rows(group, started)
    worker = group.workers["adolfd:operations:default"]
    for second in SECONDS:
        entry = CronEntry(name=f"tick_{second:02d}", module="operations", queue="default", cron="* * * * *",
                          job="tick", second=second, tz=MSK)
        item = Scheduled(entry, arq_cron(entry, arq_function(spec, run_keys=(f"operations.{entry.name}",))))
        group.scheduled.append(item)
        worker.functions[item.job.name] = item.job
    if not loop:
        runtime.CronScheduler = AiocronScheduler
    freeze_startup_heap()           # as adolfd.engine.runtime.serve_group does once the group is built
    try:
        async with load(redis_url, per_second):
            task = asyncio.create_task(group.run())
            await asyncio.sleep(minutes * 60)
            group.stop()
            await task
    finally:
        runtime.CronScheduler = CronScheduler
        await close_resources(res)


async def run_arq(redis_url: str, minutes: float, per_second: int, *, microsecond: int, poll_delay: float) -> None:
    from arq.connections import RedisSettings, create_pool

    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    jobs = [cron(record, name=f"cron:tick_{s:02d}", second=s, microsecond=microsecond) for s in SECONDS]
    worker = Worker(cron_jobs=jobs, queue_name="bench:cron", redis_pool=redis, handle_signals=False,
                    poll_delay=poll_delay, keep_result=0)
    async with load(redis_url, per_second):
        task = asyncio.create_task(worker.main())
        await asyncio.sleep(minutes * 60)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await redis.aclose()


def _percentile(ms: list[float], q: float) -> float:
    return ms[min(len(ms) - 1, math.ceil(len(ms) * q) - 1)]


def _stats(prefix: str, lateness: list[float]) -> dict:
    ms = sorted(x * 1000 for x in lateness)
    if not ms:
        return {f"{prefix}fires": 0}
    return {f"{prefix}fires": len(ms), f"{prefix}late_ms_min": round(ms[0], 1),
            f"{prefix}late_ms_p50": round(statistics.median(ms), 1),
            f"{prefix}late_ms_p99": round(_percentile(ms, 0.99), 1), f"{prefix}late_ms_max": round(ms[-1], 1)}


async def main(modes: list[str], loads: list[int], minutes: float, redis_port: int,
               real_table: bool = False) -> list[dict]:
    out = []
    for per_second in loads:
        for mode in modes:
            LATENESS.clear()
            TABLE_LATENESS.clear()
            START_UP_LATENESS.clear()
            LOAD_DONE[0] = 0
            async with private_redis(redis_port) as redis_base, scratch(redis_base) as (db_url, redis_url):
                before = await redis_commands(redis_url)
                started = time.monotonic()
                if mode in ("aiocron", "loop"):
                    await run_adolfd(db_url, redis_url, minutes, per_second, loop=mode == "loop",
                                     real_table=real_table)
                elif mode == "arq-default":
                    await run_arq(redis_url, minutes, per_second, microsecond=123_456, poll_delay=0.5)
                elif mode == "arq-tuned":
                    await run_arq(redis_url, minutes, per_second, microsecond=0, poll_delay=0.05)
                else:
                    raise SystemExit(f"unknown mode {mode}")
                elapsed = time.monotonic() - started
                rate = (await redis_commands(redis_url) - before) / elapsed
            row = {"mode": mode, "real_table": real_table and mode in ("aiocron", "loop"),
                   "load_jobs_per_s": round(LOAD_DONE[0] / elapsed), **_stats("", LATENESS)}
            if row["real_table"]:
                row.update(_stats("table_", TABLE_LATENESS))
            if START_UP_LATENESS:
                row["start_up_late_ms_max"] = round(max(START_UP_LATENESS) * 1000, 1)
            out.append({**row, "redis_commands_per_s": round(rate, 1)})
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=2)
    p.add_argument("--every", type=int, default=5, help="a schedule every this many seconds of the minute")
    p.add_argument("--modes", default="aiocron,loop,arq-default,arq-tuned")
    p.add_argument("--loads", default="0", help="comma-separated no-op jobs/s on a second queue, 0 = idle")
    p.add_argument("--redis-port", type=int, default=0, help="port of the benchmark's own redis-server (0: a free one)")
    p.add_argument("--real-table", action="store_true",
                   help="adolfd modes: `worker all` with every row of adolfd.cron.TABLE loaded next to the probes")
    p.add_argument("--event-loop", choices=("asyncio", "uvloop"), default="asyncio",
                   help="the bench process's loop (`adolfd worker` uses uvloop when installed)")
    p.add_argument("--produce", nargs=2, metavar=("REDIS_URL", "PER_SECOND"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.produce:
        asyncio.run(produce(a.produce[0], int(a.produce[1])))
    else:
        SECONDS.extend(range(0, 60, a.every))
        factory = None
        if a.event_loop == "uvloop":
            import uvloop

            factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=factory) as runner:
            rows = runner.run(main(a.modes.split(","), [int(x) for x in a.loads.split(",")], a.minutes,
                                   a.redis_port, a.real_table))
        for row in rows:
            print(json.dumps({**row, "event_loop": a.event_loop}))
