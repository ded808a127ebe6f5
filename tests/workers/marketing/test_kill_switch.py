"""The kill switch lives in PostgreSQL: a Redis loss (restart without persistence) cannot lift a pause."""
from __future__ import annotations

from adolfd.keys import MARKETING_BIDS_PAUSED as BIDS_PAUSED
from adolfd.workers.marketing.kill_switch import bids_paused, kill_switch_status, pause_bids, resume_bids


async def test_a_pause_survives_a_redis_loss(res, sandbox, run_job, sync_campaigns):
    await sync_campaigns()
    paused = await pause_bids(res.db, res.redis, by="anna", now=res.clock.now(), reason="promo audit")
    assert paused["already"] is False
    await res.redis.flushdb()                           # Redis restarted without persistence
    cycle = await run_job("marketing.run_bid_cycle")
    assert cycle["result"] == {"status": "skipped", "reason": "kill_switch", "paused_by": "anna"}
    assert sum(sandbox.sandbox.counters.get("bids_set", {}).values()) == 0
    assert (await kill_switch_status(res.redis, res.db))["bid_cycle"] == "PAUSED"
    again = await pause_bids(res.db, res.redis, by="boris", now=res.clock.now())
    assert again["already"] is True and again["by"] == "anna" and again["reason"] == "promo audit"
    lifted = await resume_bids(res.db, res.redis, by="boris")
    assert lifted["lifted"]["by"] == "anna"
    assert await bids_paused(res.db, res.redis) is None and await res.redis.exists(BIDS_PAUSED) == 0


async def test_the_redis_copy_answers_only_without_postgresql(res):
    await pause_bids(res.db, res.redis, by="anna", now=res.clock.now())
    assert (await bids_paused(None, res.redis))["by"] == "anna"          # PostgreSQL unreachable: the copy
    await res.redis.set(BIDS_PAUSED, '{"by": "stale", "at": "", "reason": ""}')
    assert (await bids_paused(res.db, res.redis))["by"] == "anna"        # PostgreSQL is the record
    await resume_bids(res.db, res.redis, by="anna")
    await res.redis.set(BIDS_PAUSED, '{"by": "stale", "at": "", "reason": ""}')
    assert await bids_paused(res.db, res.redis) is None
