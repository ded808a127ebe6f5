"""The last run and outcome of every job (and every cron schedule name), kept in Redis for `adolfd status`,
the bot, and inputs-before-outputs checks. One HSET per job end; readable from any host."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from adolfd.keys import RUNS
from adolfd.keys import RUNS_OK as SUCCESS


def add_run(pipe: Any, keys: list[str] | tuple[str, ...], run: dict[str, Any]) -> None:
    """Queue the run-book writes on a pipeline (the caller executes it)."""
    pipe.hset(RUNS, mapping={key: json.dumps(run, default=str) for key in keys})
    if run.get("outcome") == "success":
        pipe.hset(SUCCESS, mapping={key: run["finished"] for key in keys})


async def record_run(redis: Redis, keys: list[str], run: dict[str, Any]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        add_run(pipe, keys, run)
        await pipe.execute()


async def last_runs(redis: Redis) -> dict[str, dict[str, Any]]:
    raw = await redis.hgetall(RUNS)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    return {k.decode(): json.loads(v) for k, v in raw.items()}


async def last_success(redis: Redis, key: str) -> datetime | None:
    raw = await redis.hget(SUCCESS, key)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    return datetime.fromisoformat(raw.decode()) if raw else None
