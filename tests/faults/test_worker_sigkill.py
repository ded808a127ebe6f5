"""A worker SIGKILLed in the middle of `send_response`, `apply_bid_change` and `run_bid_cycle`: a restarted worker
runs the job again within 60 s (the liveness sweep frees the dead worker's claims and its bid-cycle lock; the
claims' own TTL is the queue's longest job timeout + 10 s), and the marketplace sees each effect once.

Each test counts, from the sandbox's effect counters and the rows: jobs lost 0, effects twice 0, wrong rows 0.
"""
from __future__ import annotations

import asyncio
import signal
import time

import pytest
from adolfd.engine.enqueue import enqueue
from adolfd.engine.liveness import holder_of
from adolfd.engine.serialization import arq_job
from adolfd.keys import MARKETING_BID_CYCLE_LOCK as LOCK_KEY
from adolfd.sandbox import feedback_feed
from adolfd.workers.marketing.bid_changes import request_bid_change
from adolfd.workers.reputation.approval import approve
from arq.constants import in_progress_key_prefix

pytestmark = [pytest.mark.slow, pytest.mark.faults]
RECOVERY_LIMIT = 60.0


async def until(predicate, timeout: float, step: float = 0.1) -> float:
    """Seconds until `predicate()` (async) holds; fails after `timeout`."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(step)
    return time.monotonic() - started


def counter(sandbox, kind: str, prefix: str = "") -> dict[str, int]:
    return {k: v for k, v in sandbox.sandbox.counters.get(kind, {}).items() if k.startswith(prefix)}


async def _kill(worker) -> None:
    assert await worker.stop(signal.SIGKILL) == -signal.SIGKILL


async def test_sigkill_during_send_response(res, sandbox, run_job, live_env, workers):
    feedback_feed.configure(sandbox.sandbox, "wb-feedbacks", backlog=2)
    assert (await run_job("reputation.poll_wb_reviews"))["success"]
    item = await res.db.fetchrow("SELECT id, external_id FROM reputation_items WHERE status = 'pending_review' "
                                 "ORDER BY id LIMIT 1")
    # WB stores the reply at once and holds its answer a minute: the worker dies waiting for it
    sandbox.sandbox.add_fault("wb-feedbacks", "timeout", count=1, path="/api/v1/feedbacks/answer", seconds=60,
                              process=True)

    def replies() -> int:
        return feedback_feed.replies_published(sandbox.sandbox, "wb-feedbacks", "review", item["external_id"])

    first = await workers("reputation", live_env)
    await approve(res.db, res.redis, item["id"], by="anna")

    async def stored() -> bool:
        return replies() == 1

    await until(stored, 30)
    await _kill(first)
    killed = time.monotonic()
    await workers("reputation", live_env)

    async def published() -> bool:
        return await res.db.fetchval("SELECT status FROM reputation_items WHERE id = $1", item["id"]) == "published"

    await until(published, RECOVERY_LIMIT + 30)
    recovery = time.monotonic() - killed
    assert recovery < RECOVERY_LIMIT, f"published {recovery:.1f}s after the kill"
    assert replies() == 1                                                        # effects twice: 0
    row = await res.db.fetchrow("SELECT r.publish_retry_count, r.publish_error FROM reputation_responses r "
                                "WHERE item_id = $1", item["id"])
    assert row["publish_retry_count"] == 2 and row["publish_error"] is None       # wrong rows: 0
    print(f"send_response: recovered in {recovery:.1f}s")


async def _sync_marketing(res, run_job) -> None:
    assert (await run_job("marketing.sync_campaigns"))["success"]
    await res.db.execute("UPDATE marketing_campaigns SET strategy_type = 'drr', target_drr = 10.0, max_bid = 1000.0, "
                         "daily_limit = NULL WHERE marketplace = 'ozon'")
    assert (await run_job("marketing.collect_stats", marketplace="ozon"))["success"]


async def test_sigkill_during_apply_bid_change(res, sandbox, run_job, live_env, workers):
    await _sync_marketing(res, run_job)
    kw = await res.db.fetchrow(
        "SELECT k.id, k.external_id, k.current_bid, c.external_id AS campaign, c.brand_id FROM marketing_keywords k "
        "JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE c.marketplace = 'ozon' ORDER BY k.id LIMIT 1")
    new_bid = kw["current_bid"] + 7
    change = await request_bid_change(res.db, kw["id"], new_bid, request_id="op-sigkill")
    key = f"ozon:{kw['brand_id']}:{kw['campaign']}:{kw['external_id']}"
    # Ozon sets the bid at once and answers a minute later: the worker dies waiting
    sandbox.sandbox.add_fault("ozon-performance", "timeout", count=1, path=f"/campaign/{kw['campaign']}/products",
                              seconds=60, process=True)
    first = await workers("marketing", live_env)
    queued = await enqueue(res.redis, "marketing.apply_bid_change", {"change_id": change})
    assert queued is not None

    async def sent() -> bool:
        return sandbox.sandbox.counter("bids_set", key) == 1

    await until(sent, 30)
    claim = await res.redis.get(in_progress_key_prefix + queued.job_id)
    assert holder_of(claim) is not None and await res.redis.pttl(in_progress_key_prefix + queued.job_id) > 120_000
    await _kill(first)
    killed = time.monotonic()
    await workers("marketing", live_env)

    async def applied() -> bool:
        return await res.db.fetchval("SELECT status FROM marketing_bid_history WHERE id = $1", change) == "applied"

    async def result_stored() -> bool:
        # the row turns applied inside the job, a moment before the worker stores the job's result
        return await arq_job(res.redis, queued.job_id).result_info() is not None

    await until(applied, RECOVERY_LIMIT + 30)
    recovery = time.monotonic() - killed
    assert recovery < RECOVERY_LIMIT, f"applied {recovery:.1f}s after the kill"
    await until(result_stored, 10)
    info = await arq_job(res.redis, queued.job_id).result_info()
    assert info is not None and info.success and info.job_try == 2                # jobs lost: 0
    assert info.result["sent"] is False and info.result["verified"] is True
    assert sandbox.sandbox.counter("bids_set", key) == 1                          # effects twice: 0
    assert await res.db.fetchval("SELECT current_bid FROM marketing_keywords WHERE id = $1", kw["id"]) == new_bid
    print(f"apply_bid_change: recovered in {recovery:.1f}s")


async def test_sigkill_during_run_bid_cycle_frees_its_lock(res, sandbox, run_job, live_env, workers):
    await _sync_marketing(res, run_job)
    campaign = await res.db.fetchval("SELECT external_id FROM marketing_campaigns WHERE marketplace = 'ozon' "
                                     "ORDER BY id LIMIT 1")
    sandbox.sandbox.add_fault("ozon-performance", "timeout", count=1, path=f"/campaign/{campaign}/products",
                              seconds=60, process=True)
    first = await workers("marketing", live_env)
    queued = await enqueue(res.redis, "marketing.run_bid_cycle", {"marketplace": "ozon"})
    assert queued is not None

    async def bids_went_out() -> bool:
        return bool(counter(sandbox, "bids_set", "ozon:")) and await res.redis.exists(LOCK_KEY) == 1

    await until(bids_went_out, 60)
    assert holder_of(await res.redis.get(LOCK_KEY)) is not None
    await _kill(first)
    killed = time.monotonic()
    await workers("marketing", live_env)

    async def lock_freed() -> bool:
        return await res.redis.exists(LOCK_KEY) == 0

    async def cycle_done() -> bool:
        return await arq_job(res.redis, queued.job_id).result_info() is not None

    await until(lock_freed, RECOVERY_LIMIT + 30)
    freed = time.monotonic() - killed
    await until(cycle_done, RECOVERY_LIMIT + 60)
    rerun = time.monotonic() - killed
    assert freed < RECOVERY_LIMIT, f"lock freed {freed:.1f}s after the kill"
    assert rerun < RECOVERY_LIMIT + 30, f"cycle re-run {rerun:.1f}s after the kill"
    info = await arq_job(res.redis, queued.job_id).result_info()
    assert info.success and info.job_try == 2 and info.result["status"] == "completed"   # jobs lost: 0
    # effects twice: 0 — no unit's bid was sent more often than cycles (slots) recorded a change for it
    slots = {r["key"]: r["n"] for r in await res.db.fetch(
        "SELECT 'ozon:' || c.brand_id || ':' || c.external_id || ':' || k.external_id AS key, count(*) AS n "
        "FROM marketing_bid_history h JOIN marketing_keywords k ON k.id = h.keyword_id "
        "JOIN marketing_campaigns c ON c.id = h.campaign_id WHERE h.marketplace = 'ozon' GROUP BY 1")}
    sent = counter(sandbox, "bids_set", "ozon:")
    assert sent and all(n <= slots.get(key, 0) for key, n in sent.items()), (sent, slots)
    # a new cycle is not blocked by the dead worker's lock
    again = await enqueue(res.redis, "marketing.run_bid_cycle", {"marketplace": "ozon"})
    assert again is not None

    async def again_done() -> bool:
        return await arq_job(res.redis, again.job_id).result_info() is not None

    await until(again_done, 60)
    result = (await arq_job(res.redis, again.job_id).result_info()).result
    assert result["status"] == "completed", result
    print(f"run_bid_cycle: lock freed in {freed:.1f}s, cycle re-run done in {rerun:.1f}s")
