"""A backlog far larger than the worker's slots: the worker waits for a slot instead of polling in a loop, so
the running jobs advance at full speed and SIGTERM is obeyed at once."""
from __future__ import annotations

import asyncio
import time

import pytest
from adolfd.engine.serialization import SERIALIZERS
from adolfd.testing import AdolfdProcess
from arq.connections import RedisSettings, create_pool

pytestmark = [pytest.mark.slow]
QUEUE = "adolfd:operations:default"
BACKLOG = 3000
SLOTS = 20
SLEEP_MS = 50


async def _fill(redis_url: str, count: int) -> None:
    """Queue `count` probes directly (plain ARQ, no wake-up): a backlog another host could have left."""
    redis = await create_pool(RedisSettings.from_dsn(redis_url), **SERIALIZERS)
    try:
        for i in range(count):
            await redis.enqueue_job("probe", _queue_name=QUEUE, _job_id=f"backlog:{i}", sleep_ms=SLEEP_MS)
    finally:
        await redis.aclose()


async def _completed(redis_url: str) -> int:
    redis = await create_pool(RedisSettings.from_dsn(redis_url), **SERIALIZERS)
    try:
        return BACKLOG - await redis.zcard(QUEUE)
    finally:
        await redis.aclose()


async def test_full_slots_with_a_backlog_run_at_slot_speed_and_stop_on_sigterm(worker_env):
    env = {**worker_env, "ADOLFD_MAX_JOBS": str(SLOTS), "ADOLFD_DRAIN_SECONDS": "5"}
    await _fill(env["ADOLFD_REDIS_URL"], BACKLOG)
    worker = await AdolfdProcess.start("worker", "operations", env=env)
    started = time.monotonic()
    await asyncio.sleep(4)
    done = await _completed(env["ADOLFD_REDIS_URL"])
    elapsed = time.monotonic() - started
    # SLOTS jobs of SLEEP_MS each run at most SLOTS / SLEEP_MS = 400 jobs/s; a spinning poll loop managed 1–3/s.
    ideal = SLOTS / (SLEEP_MS / 1000) * elapsed
    assert done >= 0.4 * ideal, f"{done} jobs in {elapsed:.1f}s, ideal {ideal:.0f}"
    assert done < BACKLOG                 # the backlog is still there: every slot is still busy

    sigterm = time.monotonic()
    assert await worker.stop(timeout=30) == 0
    assert time.monotonic() - sigterm < 5 + 3
    assert worker.events("worker_group_stopped")
