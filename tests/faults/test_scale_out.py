"""Several worker processes on one queue, and jobs enqueued without a wake-up: every job runs once, on whichever
process claimed it; a claim left by a process that died holds its job until the claim's lease ends, then another
process runs it; plain-ARQ enqueues start within milliseconds, not at the 0.5 s safety-net poll."""
from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter

import pytest
from adolfd.engine.serialization import SERIALIZERS
from adolfd.testing import AdolfdProcess
from arq.connections import RedisSettings, create_pool
from arq.constants import in_progress_key_prefix, result_key_prefix

pytestmark = [pytest.mark.slow, pytest.mark.faults]
QUEUE = "adolfd:operations:default"


async def _pool(redis_url: str):
    return await create_pool(RedisSettings.from_dsn(redis_url), **SERIALIZERS)


async def _wait_empty(redis, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await redis.zcard(QUEUE):
        assert time.monotonic() < deadline, f"{await redis.zcard(QUEUE)} jobs left after {timeout}s"
        await asyncio.sleep(0.1)


async def test_two_processes_share_one_queue_and_run_every_job_once(worker_env):
    env = {**worker_env, "ADOLFD_MAX_JOBS": "50"}
    redis = await _pool(env["ADOLFD_REDIS_URL"])
    workers = [await AdolfdProcess.start("worker", "operations", env=env) for _ in range(2)]
    try:
        for i in range(0, 1200, 200):    # plain ARQ, no wake-up: the processes find the jobs by polling
            await asyncio.gather(*(redis.enqueue_job("probe", _queue_name=QUEUE, _job_id=f"shared:{n}", sleep_ms=20)
                                   for n in range(i, i + 200)))
        await _wait_empty(redis, 60)
        for worker in workers:
            assert await worker.stop(timeout=30) == 0
        starts = [Counter(e["job_id"] for e in w.events("job_started")) for w in workers]
        assert all(starts), "both processes ran jobs"
        together = starts[0] + starts[1]
        assert set(together) == {f"shared:{n}" for n in range(1200)}
        assert max(together.values()) == 1, [job for job, n in together.items() if n > 1][:10]
        assert await redis.exists(*(result_key_prefix + f"shared:{n}" for n in range(1200))) == 1200
    finally:
        for worker in workers:
            if worker.running:
                await worker.stop(timeout=10)
        await redis.aclose()


async def test_a_claim_left_by_a_dead_process_holds_its_job_until_the_lease_ends(worker_env):
    redis = await _pool(worker_env["ADOLFD_REDIS_URL"])
    worker = await AdolfdProcess.start("worker", "operations", env=worker_env)
    try:
        # what a process that claimed the job and then died leaves behind: its claim, 3 s of lease left
        await redis.psetex(in_progress_key_prefix + "orphan", 3000, b"1")
        leased_until = time.monotonic() + 3
        await redis.enqueue_job("probe", _queue_name=QUEUE, _job_id="orphan", sleep_ms=1)
        await redis.enqueue_job("probe", _queue_name=QUEUE, _job_id="free", sleep_ms=1)
        await worker.wait_for("job_finished", timeout=10, job_id="free")
        assert not worker.events("job_started") or all(e["job_id"] != "orphan" for e in worker.events("job_started"))
        await worker.wait_for("job_finished", timeout=15, job_id="orphan")
        ran_at = time.monotonic()
        assert ran_at >= leased_until - 0.2, "started while another process held the claim"
        assert ran_at - leased_until < 2.5, f"picked up {ran_at - leased_until:.1f}s after the lease ended"
    finally:
        await worker.stop(timeout=10)
        await redis.aclose()


async def test_jobs_enqueued_without_a_wake_up_start_before_the_safety_net_poll(worker_env):
    """Another host enqueuing with plain ARQ publishes no wake-up: a worker that is finding jobs looks again
    within milliseconds (the 0.5 s poll would make the average job wait ~250 ms)."""
    redis = await _pool(worker_env["ADOLFD_REDIS_URL"])
    worker = await AdolfdProcess.start("worker", "operations", env=worker_env)
    try:
        ids = [f"trickle:{n}" for n in range(60)]
        for job_id in ids:
            await redis.enqueue_job("probe", _queue_name=QUEUE, _job_id=job_id, sleep_ms=1)
            await asyncio.sleep(0.05)
        await _wait_empty(redis, 20)
        waits = []
        for raw in await redis.mget([result_key_prefix + job_id for job_id in ids]):
            result = json.loads(raw)
            waits.append((result["st"] - result["et"]) / 1000)
        assert statistics.median(waits) < 0.12, sorted(waits)
    finally:
        await worker.stop(timeout=10)
        await redis.aclose()


async def test_every_minute_cron_rows_fire_once_across_three_processes(worker_env):
    """Three processes with the watcher's rows (three run every minute) across one minute boundary: each fire
    starts in exactly one process. The 10-minute measurement is bench/cron_once.py."""
    env = {**worker_env, "ADOLFD_DRAIN_SECONDS": "5"}
    workers = [await AdolfdProcess.start("worker", "watcher", env=env) for _ in range(3)]
    try:
        now = time.time()
        await asyncio.sleep(60 - now % 60 + 8)            # past the next whole minute, and its jobs started
        for worker in workers:
            assert await worker.stop(timeout=30) == 0
        starts = Counter((e["job_id"], e.get("attempt", 1)) for w in workers for e in w.events("job_started")
                         if e["job_id"].startswith("cron:"))
        boundary_ms = int((now // 60 + 1) * 60 * 1000)
        at_boundary = {job_id.split(":")[1] for job_id, attempt in starts
                       if attempt == 1 and job_id.endswith(f":{boundary_ms}")}
        assert {"sync_agent_status", "consume_agent_events", "office_heartbeat"} <= at_boundary, starts
        assert [key for key, n in starts.items() if n > 1] == []
    finally:
        for worker in workers:
            if worker.running:
                await worker.stop(timeout=10)
