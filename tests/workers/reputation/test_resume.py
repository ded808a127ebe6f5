"""Reputation work lost with Redis (a restart without persistence) is found again from PostgreSQL by
`resume_stuck_items`: new reviews are analysed and drafted, approved replies are published once."""
from __future__ import annotations

import pytest


@pytest.fixture
def at_once(res, monkeypatch):
    monkeypatch.setattr(res.settings.reputation, "resume_after_seconds", 0)
    return res


async def _statuses(res) -> dict[int, str]:
    return {r["id"]: r["status"] for r in await res.db.fetch("SELECT id, status FROM reputation_items")}


async def test_new_reviews_and_approvals_lost_with_redis_are_resumed(res, feed, run_job, run_queue, replies, items,
                                                                     at_once):
    feed("wb", backlog=3)
    # the poll stores the reviews and queues their analysis; Redis is lost before any of it runs
    from adolfd.engine.enqueue import enqueue
    await enqueue(res.redis, "reputation.poll_wb_reviews", {})
    await run_queue("reputation", "default", max_burst_jobs=1)
    stored = await _statuses(res)
    assert stored and set(stored.values()) == {"new"}
    await res.redis.flushdb()

    out = await run_job("reputation.resume_stuck_items")
    assert out["result"]["resumed"] == {"new": len(stored)}
    await run_queue("reputation", "default")
    assert set((await _statuses(res)).values()) == {"pending_review"}
    again = await run_job("reputation.resume_stuck_items")
    assert again["result"]["stuck"] == 0                                     # nothing left behind

    # an approval whose send_response is lost with Redis
    from adolfd.workers.reputation.approval import approve
    item = (await items(platform="wb", item_type="review"))[0]
    await approve(res.db, res.redis, item["id"], by="anna")
    await res.redis.flushdb()
    out = await run_job("reputation.resume_stuck_items")
    assert out["result"]["resumed"] == {"approved": 1}
    await run_queue("reputation", "default")
    assert (await items(id=item["id"]))[0]["status"] == "published"
    assert replies("wb", "review", item["external_id"]) == 1


async def test_an_item_whose_job_is_still_queued_is_left_to_it(res, feed, run_job, run_queue, at_once):
    feed("wb", backlog=2)
    from adolfd.engine.enqueue import enqueue
    await enqueue(res.redis, "reputation.poll_wb_reviews", {})
    await run_queue("reputation", "default", max_burst_jobs=1)
    from adolfd.engine.context import Ctx
    from adolfd.engine.jobs import resolve
    from adolfd.workers.reputation.resume import resume_stuck_items
    out = await resume_stuck_items(Ctx(res, job_id="sweep", job_try=1, spec=resolve("reputation.resume_stuck_items")))
    assert out["resumed"] == {} and out["waiting"] == out["stuck"] == 2 * 2    # two reviews of each brand
