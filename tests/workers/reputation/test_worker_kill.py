"""A worker process killed with SIGKILL in the middle of send_response: after recovery the marketplace holds
exactly one reply (DOMAIN.md "Publishing never happens twice ... a worker killed mid-call")."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta

import pytest
from adolfd.engine.serialization import arq_job
from adolfd.sandbox.environment import sandbox_env
from adolfd.testing import service_env
from adolfd.workers.reputation.approval import approve
from arq.constants import in_progress_key_prefix

JOB_ID = "reputation:send:{item_id}:g1"


async def _start_worker(settings, sandbox) -> tuple[asyncio.subprocess.Process, asyncio.Task]:
    env = {**os.environ, **sandbox_env(sandbox.url), **service_env(settings),
           "ADOLFD_METRICS_PORT": "0", "ADOLFD_ENVIRONMENT": "test"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adolfd", "worker", "reputation", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    started = asyncio.get_running_loop().create_future()

    async def read() -> None:                     # keep the pipe drained for the whole life of the process
        async for line in proc.stdout:
            text = line.decode()
            if '"worker_group_started"' in text and not started.done():
                started.set_result(True)
        if not started.done():
            started.set_exception(AssertionError("worker exited before it started"))

    reader = asyncio.create_task(read())
    await asyncio.wait_for(started, 20)
    return proc, reader


async def _until(predicate, timeout: float = 20.0) -> None:
    async def wait() -> None:
        while not await predicate():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def approved_item(res, feed, poll, items):
    feed("wb", backlog=2)
    out = await poll("wb", "review")
    assert out["success"]
    return (await items(platform="wb", item_type="review", status="pending_review"))[0]


async def _kill_during_publish(res, settings, sandbox, item, *, reached: callable) -> None:
    proc, reader = await _start_worker(settings, sandbox)
    try:
        await approve(res.db, res.redis, item["id"], by="anna")
        await _until(reached)
    finally:
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
        await reader
    status = await res.db.fetchval("SELECT status FROM reputation_items WHERE id = $1", item["id"])
    assert status == "publishing"                 # the claim the dead worker left behind


async def _recover(res, sandbox, clock, run_queue, item) -> dict:
    """What time does after the kill: ARQ's in-progress key expires (job timeout + 10 s) and the claim's lease
    runs out; then the job runs again on a healthy worker."""
    sandbox.sandbox.clear_faults()
    job_id = JOB_ID.format(item_id=item["id"])
    assert await res.redis.delete(in_progress_key_prefix + job_id) == 1
    clock.set(datetime.now(UTC) + timedelta(seconds=res.settings.reputation.publish_lease_seconds + 1))
    await run_queue("reputation", "default")
    info = await arq_job(res.redis, job_id).result_info()
    assert info is not None and info.success and info.job_try == 2
    return info.result


async def test_killed_after_the_marketplace_took_the_reply(res, settings, sandbox, clock, approved_item, replies,
                                                           run_queue, run_job, items):
    item = approved_item
    # WB stores the reply at once and holds its answer for a minute: the worker dies waiting for it
    sandbox.sandbox.add_fault("wb-feedbacks", "timeout", count=1, path="/api/v1/feedbacks/answer", seconds=60,
                              process=True)

    async def reply_stored() -> bool:
        return replies("wb", "review", item["external_id"]) == 1

    await _kill_during_publish(res, settings, sandbox, item, reached=reply_stored)
    result = await _recover(res, sandbox, clock, run_queue, item)
    assert result == {"status": "published", "item_id": item["id"], "action": "confirm"}
    [done] = await items(id=item["id"])
    assert done["status"] == "published" and done["publish_retry_count"] == 2
    assert (await run_job("reputation.retry_failed_publish"))["result"]["retried"] == 0
    assert replies("wb", "review", item["external_id"]) == 1            # exactly one reply on the marketplace


async def test_killed_before_the_marketplace_took_the_reply(res, settings, sandbox, clock, approved_item, replies,
                                                            run_queue, items):
    item = approved_item
    sandbox.sandbox.add_fault("wb-feedbacks", "timeout", count=1, path="/api/v1/feedbacks/answer", seconds=60)

    async def call_in_flight() -> bool:          # the request reached the sandbox, which holds it unprocessed
        return not sandbox.sandbox.faults

    await _kill_during_publish(res, settings, sandbox, item, reached=call_in_flight)
    assert replies("wb", "review", item["external_id"]) == 0
    result = await _recover(res, sandbox, clock, run_queue, item)
    assert result == {"status": "published", "item_id": item["id"], "action": "publish"}
    assert (await items(id=item["id"]))[0]["status"] == "published"
    assert replies("wb", "review", item["external_id"]) == 1


async def test_a_live_claim_is_not_taken_over_before_its_lease(res, sandbox, approved_item, run_job, items):
    """A second send_response while the first still holds a fresh claim does nothing."""
    item = approved_item
    await res.db.execute("UPDATE reputation_items SET status = 'publishing' WHERE id = $1", item["id"])
    await res.db.execute("UPDATE reputation_responses SET publish_started_at = now(), publish_retry_count = 1, "
                         "approved_at = now() WHERE item_id = $1", item["id"])
    out = await run_job("reputation.send_response", item_id=item["id"])
    assert out["result"] == {"status": "not_claimed", "item_id": item["id"], "item_status": "publishing"}
    out = await run_job("reputation.retry_failed_publish")
    assert out["result"]["retried"] == 0
    assert json.dumps(sandbox.sandbox.counters.get("replies_published", {})) == "{}"
