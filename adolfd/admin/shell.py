"""What every `adolfd` subcommand shares, the platform's and the modules' alike: exit codes, the error line on
stderr, and a Redis pool or the whole set of resources for the length of one command."""
from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any

from adolfd.settings import Settings

EXIT_FAILED = 1
EXIT_USAGE = 2            # bad arguments or configuration: systemd's RestartPreventExitStatus=2
EXIT_TIMEOUT = 3          # `run --wait`: the job did not finish in time (it keeps running)


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"adolfd: {message}", file=sys.stderr)
    return code


async def with_redis(settings: Settings, fn: Callable[..., Coroutine[Any, Any, int]]) -> int:
    from adolfd.process.resources import connect_redis

    redis = await connect_redis(settings)
    try:
        return await fn(redis)
    finally:
        await redis.aclose(close_connection_pool=True)


async def with_resources(settings: Settings, fn: Callable[..., Coroutine[Any, Any, int]]) -> int:
    from adolfd.process.resources import build_resources, close_resources

    res = await build_resources(settings)
    try:
        return await fn(res)
    finally:
        await close_resources(res)


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`key=value` words; values stay strings and the job's pydantic model converts them."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {pair!r}")
        out[key] = value
    return out
