"""Reference: the same I/O-bound job (await 10 ms, one Redis round trip) on bare ARQ, no adolfd around it.

Run: `.venv/bin/python bench/bare_arq.py [--jobs 10000] [--max-jobs 200] [--poll-delay 0.5] [--read-limit 0]`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

from arq import Worker
from arq.connections import RedisSettings, create_pool

QUEUE = "bench:bare"


async def probe(ctx, sleep_ms: int = 10) -> dict:
    await asyncio.sleep(sleep_ms / 1000)
    await ctx["redis"].ping()
    return {"status": "success"}


async def main(jobs: int, max_jobs: int, poll_delay: float, read_limit: int, redis_url: str) -> dict:
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    await redis.flushdb()
    for i in range(0, jobs, 500):
        await asyncio.gather(*[redis.enqueue_job("probe", _queue_name=QUEUE, sleep_ms=10)
                               for _ in range(i, min(i + 500, jobs))])
    worker = Worker([probe], queue_name=QUEUE, redis_pool=redis, burst=True, handle_signals=False,
                    max_jobs=max_jobs, poll_delay=poll_delay, queue_read_limit=read_limit or None,
                    keep_result=3600, log_results=False)
    started = time.perf_counter()
    await worker.main()
    elapsed = time.perf_counter() - started
    await redis.aclose()
    return {"jobs": jobs, "max_jobs": max_jobs, "poll_delay": poll_delay,
            "queue_read_limit": worker.queue_read_limit, "wall_s": round(elapsed, 2),
            "jobs_per_s": round(jobs / elapsed)}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=10000)
    p.add_argument("--max-jobs", type=int, default=200)
    p.add_argument("--poll-delay", type=float, default=0.5)
    p.add_argument("--read-limit", type=int, default=0)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    a = p.parse_args()
    import logging
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(main(a.jobs, a.max_jobs, a.poll_delay, a.read_limit, a.redis))))
