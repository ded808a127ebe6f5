"""Operators' bid changes (`adolfd set-bid`, seed 002 §7.1 apply_bid_change): a value set again after the cycle
moved the bid is sent, a command typed twice is one change, two jobs for one change send it once."""
from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from adolfd.engine.enqueue import enqueue
from adolfd.workers.marketing.bid_changes import request_bid_change


@pytest.fixture
async def ozon_keyword(res, configure, fast_retries, sync_campaigns):
    fast_retries("marketing.apply_bid_change")
    await sync_campaigns()
    await configure("ozon", max_bid=1_000.0)
    return await res.db.fetchrow(
        "SELECT k.id, k.external_id, k.current_bid, c.external_id AS campaign, c.brand_id FROM marketing_keywords k "
        "JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE c.marketplace = 'ozon' ORDER BY k.id LIMIT 1")


def sent(sandbox, kw) -> int:
    return sandbox.sandbox.counter("bids_set", f"ozon:{kw['brand_id']}:{kw['campaign']}:{kw['external_id']}")


async def current_bid(res, kw) -> Decimal:
    return await res.db.fetchval("SELECT current_bid FROM marketing_keywords WHERE id = $1", kw["id"])


async def test_setting_a_bid_again_after_the_cycle_moved_it_is_applied(res, sandbox, cli, run_job, run_queue,
                                                                     ozon_keyword):
    kw = ozon_keyword
    mine, cycles = kw["current_bid"] + 2, kw["current_bid"] + 5
    code, out, err = await cli("set-bid", str(kw["id"]), str(mine))
    assert code == 0, err
    first = json.loads(out)
    await run_queue("marketing", "high")
    assert await current_bid(res, kw) == mine and sent(sandbox, kw) == 1
    # the bid cycle moves the bid away (recorded and sent like any cycle change)
    moved = await request_bid_change(res.db, kw["id"], cycles, request_id="slot-1", source="bid_cycle")
    assert (await run_job("marketing.apply_bid_change", change_id=moved))["result"]["status"] == "applied"
    assert await current_bid(res, kw) == cycles and sent(sandbox, kw) == 2
    code, out, err = await cli("set-bid", str(kw["id"]), str(mine))
    assert code == 0, err
    second = json.loads(out)
    assert second["change_id"] != first["change_id"] and second["enqueued"]
    await run_queue("marketing", "high")
    assert await current_bid(res, kw) == mine and sent(sandbox, kw) == 3
    status = await res.db.fetchval("SELECT status FROM marketing_bid_history WHERE id = $1", second["change_id"])
    assert status == "applied"


async def test_a_command_typed_twice_is_one_change(res, ozon_keyword):
    kw = ozon_keyword
    bid = kw["current_bid"] + 3
    assert await request_bid_change(res.db, kw["id"], bid) == await request_bid_change(res.db, kw["id"], bid)
    assert await res.db.fetchval("SELECT count(*) FROM marketing_bid_history") == 1


async def test_two_jobs_for_one_change_send_it_once(res, sandbox, run_queue, ozon_keyword):
    """A duplicate enqueue under another job id: the jobs run side by side; the marketplace answers the first
    send slowly, and the second job waits for it and finds the change applied."""
    kw = ozon_keyword
    change = await request_bid_change(res.db, kw["id"], kw["current_bid"] + 4, request_id="op-7")
    sandbox.sandbox.add_fault("ozon-performance", "timeout", count=1, seconds=1.0, process=True,
                              path=f"/campaign/{kw['campaign']}/products")
    for job_id in ("bid-a", "bid-b"):
        assert await enqueue(res.redis, "marketing.apply_bid_change", {"change_id": change}, job_id=job_id)
    await run_queue("marketing", "high")
    assert sent(sandbox, kw) == 1
    assert await current_bid(res, kw) == kw["current_bid"] + 4


async def test_a_bid_above_max_bid_is_refused_with_nothing_recorded(res, cli, ozon_keyword):
    code, _, err = await cli("set-bid", str(ozon_keyword["id"]), "1000.01")
    assert code == 2 and "above the campaign's max_bid 1000.00" in err
    code, _, err = await cli("set-bid", "999999", "10")
    assert code == 2 and "no keyword 999999" in err
    assert await res.db.fetchval("SELECT count(*) FROM marketing_bid_history") == 0


async def test_more_changes_at_once_than_pooled_connections_all_apply(res, sandbox, run_queue, ozon_keyword):
    """Every slot of the high queue busy with a change while the marketplace answers slowly: no job may hold a
    pooled connection across the call, or the jobs wait on each other for connections for good."""
    keywords = await res.db.fetch(
        "SELECT k.id, k.current_bid FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id "
        "WHERE c.marketplace = 'ozon' ORDER BY k.id LIMIT $1", res.settings.db_pool_size + 4)
    assert len(keywords) > res.settings.db_pool_size
    sandbox.sandbox.add_fault("ozon-performance", "timeout", count=len(keywords), seconds=0.5, process=True)
    changes = [await request_bid_change(res.db, k["id"], k["current_bid"] + 1, request_id=f"many-{k['id']}")
               for k in keywords]
    for change in changes:
        assert await enqueue(res.redis, "marketing.apply_bid_change", {"change_id": change})
    await asyncio.wait_for(run_queue("marketing", "high", max_jobs=len(changes)), 60)
    statuses = await res.db.fetch("SELECT status FROM marketing_bid_history WHERE id = ANY($1::bigint[])", changes)
    assert [r["status"] for r in statuses] == ["applied"] * len(changes)


async def test_a_campaign_read_that_began_before_a_bid_change_never_writes_its_older_bid(res, run_job, ozon_keyword):
    """sync_campaigns and the bid cycle read a campaign's units, then store them: a change applied while the read
    was under way is newer than what the read saw, so the stored bid stays the applied one until a later read."""
    from adolfd.engine.context import Ctx
    from adolfd.engine.jobs import resolve
    from adolfd.workers.marketing.ad_marketplaces import account
    from adolfd.workers.marketing.campaigns import upsert_units

    kw = ozon_keyword
    ctx = Ctx(res, job_id="read", job_try=1, spec=resolve("marketing.sync_campaigns"))
    campaign_id = await res.db.fetchval("SELECT campaign_id FROM marketing_keywords WHERE id = $1", kw["id"])
    read_at = res.clock.now()
    stale = (await account(ctx, "ozon", kw["brand_id"]).units([kw["campaign"]]))[kw["campaign"]]
    assert any(u.external_id == kw["external_id"] for u in stale)
    applied = kw["current_bid"] + 4
    change = await request_bid_change(res.db, kw["id"], applied, request_id="while-reading")
    assert (await run_job("marketing.apply_bid_change", change_id=change))["result"]["status"] == "applied"
    await upsert_units(res.db, {campaign_id: stale}, res.clock.now(), read_at=read_at)   # the slow read lands
    assert await current_bid(res, kw) == applied
    assert (await run_job("marketing.sync_campaigns"))["success"]                       # a read begun afterwards
    assert await current_bid(res, kw) == applied
    await res.db.execute("UPDATE marketing_keywords SET current_bid = 0 WHERE id = $1", kw["id"])
    assert (await run_job("marketing.sync_campaigns"))["success"]                       # still the marketplace's
    assert await current_bid(res, kw) == applied


async def test_a_read_writes_only_the_units_it_changes_and_returns_all(res, ozon_keyword):
    """The bid cycle stores every unit it reads each time: unchanged rows are not rewritten (their row version
    stays), a changed or new one is, and every listed unit comes back either way."""
    from adolfd.workers.marketing.ad_account import MpUnit
    from adolfd.workers.marketing.campaigns import upsert_units

    kw = ozon_keyword
    campaign_id = await res.db.fetchval("SELECT campaign_id FROM marketing_keywords WHERE id = $1", kw["id"])
    rows = await res.db.fetch("SELECT external_id, keyword, placement, current_bid, price FROM marketing_keywords "
                              "WHERE campaign_id = $1 ORDER BY external_id", campaign_id)
    listed = [MpUnit(r["external_id"], r["keyword"], int(r["current_bid"] * 100), r["placement"],
                     int(r["price"] * 100) if r["price"] is not None else None) for r in rows]
    assert len(listed) > 1
    versions = "SELECT external_id, xmin::text AS v FROM marketing_keywords WHERE campaign_id = $1"
    before = {r["external_id"]: r["v"] for r in await res.db.fetch(versions, campaign_id)}
    now = res.clock.now()
    changed = listed[0]._replace(bid=listed[0].bid + 7)
    new = MpUnit("sku-new-in-listing", "new", 1500)
    stored = await upsert_units(res.db, {campaign_id: [changed, *listed[1:], new]}, now, read_at=now)
    after = {r["external_id"]: r["v"] for r in await res.db.fetch(versions, campaign_id)}
    assert set(stored[campaign_id]) == {u.external_id for u in listed} | {new.external_id}
    assert after[changed.external_id] != before[changed.external_id]
    assert all(after[u.external_id] == before[u.external_id] for u in listed[1:])
    assert await res.db.fetchval("SELECT current_bid FROM marketing_keywords WHERE campaign_id = $1 AND "
                                 "external_id = $2", campaign_id, changed.external_id) * 100 == changed.bid
