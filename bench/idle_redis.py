"""What an idle `adolfd worker all` costs Redis (commands per second), on a private redis-server.

adolfd polls each queue every `poll_delay` (0.5 s) only as a safety net: enqueues and cron fires wake the
worker at once through pub/sub, so jobs start within milliseconds without fast polling. For comparison the same
queues on plain ARQ polled at 0.05 s (the poll that keeps ARQ's cron within ~50 ms) cost 20 ZRANGEBYSCORE per
queue per second plus the cron check. Run: `.venv/bin/python bench/idle_redis.py [--seconds 30]`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import private_redis, redis_commands, scratch, spawn_worker, wait_for_health_key  # noqa: E402


async def main(seconds: float) -> dict:
    async with private_redis() as base, scratch(base) as (db_url, redis_url):
        proc = spawn_worker("all", db_url, redis_url, None, ADOLFD_METRICS_PORT="0")
        try:
            await wait_for_health_key(redis_url, "adolfd:logistic:sync")
            await asyncio.sleep(5)
            before = await redis_commands(redis_url)
            await asyncio.sleep(seconds)
            idle = (await redis_commands(redis_url) - before) / seconds
        finally:
            proc.terminate()
            proc.wait(30)
    return {"process": "adolfd worker all (8 queues with jobs)", "poll_delay_s": 0.5, "seconds": seconds,
            "redis_commands_per_s": round(idle, 1),
            "arq_poll_0.05s_same_queues_estimate": 8 * 20}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=30)
    print(json.dumps(asyncio.run(main(p.parse_args().seconds)), indent=1))
