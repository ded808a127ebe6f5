"""Resident memory of the whole daemon: `adolfd worker all` (every queue of every module in one process)
running against the sandbox while the source syncs, the bid cycle and the review polls run.

The reference is the seeds' Celery layout (a worker process per queue plus beats): about 1.5 GiB here.
The worker is stopped as in production (SIGTERM, then the drain); the bench gives it a short drain
(`ADOLFD_DRAIN_SECONDS`, `--drain`) and reports how long the stop took: a job still waiting for a rate-limit
slot is cancelled at the drain's deadline and handed back to its queue; the jobs still running at the signal and
those handed back are printed from the worker's log.
Run: `.venv/bin/python bench/memory.py [--seconds 60] [--drain 10]`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datetime import UTC

from adolfd.engine.serialization import SERIALIZERS  # noqa: E402
from arq.connections import RedisSettings, create_pool  # noqa: E402

from bench.common import log_events, private_redis, rss_mib, scratch, spawn_worker, wait_for_health_key  # noqa: E402

LOAD = ("logistic.sync_ozon_warehouses", "logistic.sync_ozon_analytics", "logistic.sync_ozon_stocks",
        "logistic.sync_brain_stocks", "logistic.generate_supply_tasks", "marketing.sync_campaigns",
        "marketing.run_bid_cycle", "reputation.poll_wb_reviews", "reputation.poll_ozon_reviews",
        "reputation.poll_ym_questions")


async def main(seconds: float, drain: float) -> dict:
    from adolfd.engine.enqueue import enqueue
    from adolfd.sandbox import start_sandbox
    from adolfd.sandbox.brain import seed_brain_tables
    from adolfd.sandbox.environment import sandbox_env

    async with private_redis() as redis_base, scratch(redis_base) as (db_url, redis_url):
        sandbox = await start_sandbox(port=0)
        from datetime import datetime

        import asyncpg

        conn = await asyncpg.connect(db_url)
        await seed_brain_tables(conn, seed=42, now=datetime.now(UTC))
        await conn.close()
        log = Path(tempfile.gettempdir()) / f"adolfd-bench-memory-{os.getpid()}.log"
        proc = spawn_worker("all", db_url, redis_url, log, ADOLFD_DRAIN_SECONDS=str(drain),
                            **sandbox_env(sandbox.url))
        stop_seconds = float("nan")
        try:
            await wait_for_health_key(redis_url, "adolfd:logistic:sync")
            started_rss = rss_mib(proc.pid)
            redis = await create_pool(RedisSettings.from_dsn(redis_url), **SERIALIZERS)   # JSON, as the workers read
            for name in LOAD:
                await enqueue(redis, name, {})
            peak, deadline = started_rss, time.monotonic() + seconds
            while time.monotonic() < deadline:
                peak = max(peak, rss_mib(proc.pid))
                await asyncio.sleep(0.25)
            done = sum([1 for k in await redis.keys("arq:result:*")])
            await redis.aclose()
            final = rss_mib(proc.pid)
            hwm = rss_mib(proc.pid, "VmHWM")
        finally:
            stopping = time.monotonic()
            proc.terminate()
            try:
                proc.wait(drain + 30)       # the drain's deadline plus the process's own shutdown
                stop_seconds = time.monotonic() - stopping
            finally:
                if proc.poll() is None:
                    proc.kill()
                await sandbox.close()
    running, handed_back = at_the_stop(log)
    return {"process": "adolfd worker all", "seconds": seconds, "jobs_finished": done,
            "rss_after_start_mib": round(started_rss, 1), "rss_peak_mib": round(max(peak, hwm), 1),
            "rss_end_mib": round(final, 1), "budget_mib": 120,
            "drain_s": drain, "sigterm_to_exit_s": round(stop_seconds, 1),
            "running_at_sigterm": running, "handed_back": handed_back, "worker_log": str(log)}


def at_the_stop(log: Path) -> tuple[int | None, list[str]]:
    """From the worker's log: how many jobs ran when the drain began, and which the drain's deadline cut."""
    running, cut = None, []
    for event in log_events(log, "worker_group_draining", "job_interrupted"):
        if event["event"] == "worker_group_draining":
            running = event.get("running")
        else:
            cut.append(str(event.get("job")))
    return running, cut


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--drain", type=float, default=10, help="ADOLFD_DRAIN_SECONDS of the measured worker")
    a = p.parse_args()
    print(json.dumps(asyncio.run(main(a.seconds, a.drain)), indent=1))
