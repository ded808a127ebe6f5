"""How late a cron job starts after its fire time: adolfd's scheduler vs ARQ's own cron, and what each costs
Redis while idle.

Twelve schedules fire `* * * * *` at seconds 0, 5, … 55 (one fire every 5 s) on one queue for `--minutes`.
- `adolfd`: the worker group (exact-second sleep, enqueue 0.5 s ahead, wake-up at the fire time; poll 0.5 s)
- `arq-default`: ARQ's cron as shipped (microsecond=123456, poll_delay 0.5 s)
- `arq-tuned`: ARQ's cron with microsecond=0 and poll_delay 0.05 s
Run: `.venv/bin/python bench/cron_precision.py [--minutes 2] [--modes adolfd,arq-default,arq-tuned]`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from arq import Worker  # noqa: E402
from arq.cron import cron  # noqa: E402

from bench.common import private_redis, redis_commands, scratch  # noqa: E402

SECONDS = list(range(0, 60, 5))
LATENESS: list[float] = []


def _fire_of(job_id: str) -> float:
    return int(job_id.rsplit(":", 1)[1]) / 1000


async def record(ctx) -> None:
    LATENESS.append(time.time() - _fire_of(ctx["job_id"]))


async def run_adolfd(db_url: str, redis_url: str, minutes: float) -> None:
    from adolfd.cron import MSK, CronEntry
    from adolfd.engine.execution import arq_function
    from adolfd.process.logs import configure
    from adolfd.engine.jobs import JobSpec, _args_model
    from adolfd.process.resources import build_resources, close_resources
    from adolfd.engine.runtime import WorkerGroup
    from adolfd.engine.scheduler import Scheduled, arq_cron
    from adolfd.settings import Settings

    async def tick(ctx) -> dict:
        LATENESS.append(time.time() - ctx.fire_time.timestamp())
        return {"status": "success"}

    configure("warning")
    res = await build_resources(Settings(database_url=db_url, redis_url=redis_url, metrics_port=0))
    spec = JobSpec(name="tick", module="operations", queue="default", func=tick, args_model=_args_model(tick, "tick"))
    group = WorkerGroup("operations", res)
    group.build()
    worker = group.workers["adolfd:operations:default"]
    for second in SECONDS:
        entry = CronEntry(name=f"tick_{second:02d}", module="operations", queue="default", cron="* * * * *",
                          job="tick", second=second, tz=MSK)
        item = Scheduled(entry, arq_cron(entry, arq_function(spec, run_keys=(f"operations.{entry.name}",))))
        group.scheduled.append(item)
        worker.functions[item.job.name] = item.job
    task = asyncio.create_task(group.run())
    await asyncio.sleep(minutes * 60)
    group.stop()
    await task
    await close_resources(res)


async def run_arq(redis_url: str, minutes: float, *, microsecond: int, poll_delay: float) -> None:
    from arq.connections import RedisSettings, create_pool

    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    jobs = [cron(record, name=f"cron:tick_{s:02d}", second=s, microsecond=microsecond) for s in SECONDS]
    worker = Worker(cron_jobs=jobs, queue_name="bench:cron", redis_pool=redis, handle_signals=False,
                    poll_delay=poll_delay, keep_result=0)
    task = asyncio.create_task(worker.main())
    await asyncio.sleep(minutes * 60)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await redis.aclose()


async def main(modes: list[str], minutes: float) -> list[dict]:
    out = []
    for mode in modes:
        LATENESS.clear()
        async with private_redis() as redis_base, scratch(redis_base) as (db_url, redis_url):
            before = await redis_commands(redis_url)
            started = time.monotonic()
            if mode == "adolfd":
                await run_adolfd(db_url, redis_url, minutes)
            elif mode == "arq-default":
                await run_arq(redis_url, minutes, microsecond=123_456, poll_delay=0.5)
            elif mode == "arq-tuned":
                await run_arq(redis_url, minutes, microsecond=0, poll_delay=0.05)
            else:
                raise SystemExit(f"unknown mode {mode}")
            rate = (await redis_commands(redis_url) - before) / (time.monotonic() - started)
        ms = sorted(x * 1000 for x in LATENESS)
        out.append({"mode": mode, "fires": len(ms), "late_ms_min": round(ms[0], 1),
                    "late_ms_median": round(statistics.median(ms), 1),
                    "late_ms_p95": round(ms[int(len(ms) * 0.95) - 1], 1), "late_ms_max": round(ms[-1], 1),
                    "redis_commands_per_s": round(rate, 1)})
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=2)
    p.add_argument("--modes", default="adolfd,arq-default,arq-tuned")
    a = p.parse_args()
    for row in asyncio.run(main(a.modes.split(","), a.minutes)):
        print(json.dumps(row))
