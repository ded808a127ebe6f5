"""The last run and outcome of every job (and every cron schedule name), kept in Redis for `adolfd status`,
the bot, and inputs-before-outputs checks. One HSET per job end; readable from any host."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

RUNS = "adolfd:runs"          # field module.name -> JSON of the last run
SUCCESS = "adolfd:runs:ok"    # field module.name -> ISO time of the last successful end


async def record_run(redis: Redis, keys: list[str], run: dict[str, Any]) -> None:
    payload = json.dumps(run, default=str)
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hset(RUNS, key, payload)
            if run.get("outcome") == "success":
                pipe.hset(SUCCESS, key, run["finished"])
        await pipe.execute()


async def last_runs(redis: Redis) -> dict[str, dict[str, Any]]:
    raw = await redis.hgetall(RUNS)
    return {k.decode(): json.loads(v) for k, v in raw.items()}


async def last_success(redis: Redis, key: str) -> datetime | None:
    raw = await redis.hget(SUCCESS, key)
    return datetime.fromisoformat(raw.decode()) if raw else None
