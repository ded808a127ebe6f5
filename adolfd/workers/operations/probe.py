"""Jobs of adolfd itself (not of a seed): an end-to-end probe an operator can run to check the pipeline."""
from __future__ import annotations

import asyncio
import time
from typing import Annotated

from adolfd.engine.arguments import between
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.engine.retry import RetryPolicy


@job(queue="default", retry=RetryPolicy(tries=0), timeout=60, manual=True)
async def probe(ctx: Ctx, sleep_ms: Annotated[int, between(0, 50_000, "ms")] = 10) -> dict:
    """Waits `sleep_ms` like an I/O-bound job and round-trips Redis: proves queue → worker → result works."""
    started = time.perf_counter()
    await asyncio.sleep(sleep_ms / 1000)
    await ctx.redis.ping()
    return {"status": "success", "elapsed_ms": round((time.perf_counter() - started) * 1000, 2)}
