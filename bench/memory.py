"""Resident memory of the whole daemon: `adolfd worker all` (every queue of every module in one process)
running against the sandbox while the source syncs, the bid cycle and the review polls run.

The reference is the seeds' Celery layout (a worker process per queue plus beats): about 1.5 GiB here.
Run: `.venv/bin/python bench/memory.py [--seconds 60]`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datetime import UTC

from adolfd.engine.serialization import SERIALIZERS  # noqa: E402
from arq.connections import RedisSettings, create_pool  # noqa: E402

from bench.common import rss_mib, scratch, spawn_worker, wait_for_health_key  # noqa: E402

LOAD = ("logistic.sync_ozon_warehouses", "logistic.sync_ozon_analytics", "logistic.sync_ozon_stocks",
        "logistic.sync_brain_stocks", "logistic.generate_supply_tasks", "marketing.sync_campaigns",
        "marketing.run_bid_cycle", "reputation.poll_wb_reviews", "reputation.poll_ozon_reviews",
        "reputation.poll_ym_questions")


async def main(seconds: float) -> dict:
    from adolfd.engine.enqueue import enqueue
    from adolfd.sandbox import start_sandbox
    from adolfd.sandbox.brain import seed_brain_tables
    from adolfd.sandbox.environment import sandbox_env

    async with scratch() as (db_url, redis_url):
        sandbox = await start_sandbox(port=0)
        from datetime import datetime

        import asyncpg

        conn = await asyncpg.connect(db_url)
        await seed_brain_tables(conn, seed=42, now=datetime.now(UTC))
        await conn.close()
        proc = spawn_worker("all", db_url, redis_url, None, **sandbox_env(sandbox.url))
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
            proc.terminate()
            proc.wait(60)
            await sandbox.close()
    return {"process": "adolfd worker all", "seconds": seconds, "jobs_finished": done,
            "rss_after_start_mib": round(started_rss, 1), "rss_peak_mib": round(max(peak, hwm), 1),
            "rss_end_mib": round(final, 1), "budget_mib": 150}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=60)
    print(json.dumps(asyncio.run(main(p.parse_args().seconds)), indent=1))
