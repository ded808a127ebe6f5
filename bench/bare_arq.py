"""Reference: the same I/O-bound job (await `--sleep-ms`, one Redis round trip) on bare ARQ, no adolfd around it.

Run: `.venv/bin/python bench/bare_arq.py [--jobs 10000] [--max-jobs 200] [--poll-delay 0.5] [--read-limit 0]
[--sleep-ms 10]`; `--work-only` runs the worker (burst) on jobs bench/compare.py enqueued.
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
    if sleep_ms:
        await asyncio.sleep(sleep_ms / 1000)
    await ctx["redis"].ping()
    return {"status": "success"}


async def main(jobs: int, max_jobs: int, poll_delay: float, read_limit: int, redis_url: str, sleep_ms: int,
               work_only: bool) -> dict:
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    if not work_only:
        await redis.flushdb()
        for i in range(0, jobs, 500):
            await asyncio.gather(*[redis.enqueue_job("probe", _queue_name=QUEUE, sleep_ms=sleep_ms)
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
    p.add_argument("--sleep-ms", type=int, default=10)
    p.add_argument("--work-only", action="store_true", help="run the worker on jobs already enqueued")
    a = p.parse_args()
    import logging
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(main(a.jobs, a.max_jobs, a.poll_delay, a.read_limit, a.redis, a.sleep_ms,
                                      a.work_only))))
