"""SIGTERM during long jobs: the worker exits 0 well within the unit's TimeoutStopSec (330 s); a job that finishes
inside ADOLFD_DRAIN_SECONDS finishes there, one that does not is handed back and run by the next worker. Jobs
lost 0, jobs run twice to completion 0."""
from __future__ import annotations

import asyncio
import time

import pytest
from adolfd.engine.enqueue import enqueue
from adolfd.engine.serialization import SERIALIZERS, arq_job
from arq.connections import RedisSettings, create_pool

pytestmark = [pytest.mark.slow, pytest.mark.faults]
QUEUE = "adolfd:operations:default"
TIMEOUT_STOP_SEC = 330


async def test_sigterm_drains_short_jobs_and_hands_back_long_ones(worker_env, workers):
    env = {**worker_env, "ADOLFD_DRAIN_SECONDS": "4"}
    redis = await create_pool(RedisSettings.from_dsn(env["ADOLFD_REDIS_URL"]), **SERIALIZERS)
    try:
        first = await workers("operations", env)
        short = [(await enqueue(redis, "probe", {"sleep_ms": 2000})).job_id for _ in range(3)]
        long = [(await enqueue(redis, "probe", {"sleep_ms": 30_000})).job_id for _ in range(2)]
        for _ in range(5):
            await first.wait_for("job_started", timeout=20)
        sigterm = time.monotonic()
        assert await first.stop(timeout=TIMEOUT_STOP_SEC) == 0
        stopped = time.monotonic() - sigterm
        assert stopped < 4 + 5, f"stopped {stopped:.1f}s after SIGTERM"
        assert first.events("worker_group_draining")[0]["running"] == 5
        assert len(first.events("job_interrupted")) == 2
        for job_id in short:
            info = await arq_job(redis, job_id, QUEUE).result_info()
            assert info is not None and info.success and info.job_try == 1
        for job_id in long:
            assert await arq_job(redis, job_id, QUEUE).result_info() is None      # handed back, not lost
            assert await redis.zscore(QUEUE, job_id) is not None

        await workers("operations", env)
        async with asyncio.timeout(60):
            while not all([await arq_job(redis, j, QUEUE).result_info() for j in long]):
                await asyncio.sleep(0.5)
        for job_id in long:
            info = await arq_job(redis, job_id, QUEUE).result_info()
            assert info.success and info.job_try == 2                # ran once more, to completion once
        print(f"SIGTERM: stopped in {stopped:.1f}s, drain 4s")
    finally:
        await redis.aclose()
