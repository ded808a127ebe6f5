"""The bid cycle against the sandbox, real Redis and PostgreSQL (seed 002 §7.3.1)."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import resolve
from adolfd.keys import MARKETING_BID_CYCLE_LOCK as LOCK_KEY
from adolfd.keys import MARKETING_LAST_CYCLE as LAST_CYCLE
from adolfd.sandbox import ads, ym_bids
from adolfd.workers.marketing import bid_cycle
from adolfd.workers.marketing.bid_changes import request_bid_change
from adolfd.workers.marketing.kill_switch import pause_bids, resume_bids
from redis.exceptions import LockError, LockNotOwnedError


def total(sandbox, kind: str, prefix: str = "") -> int:
    return sum(v for k, v in sandbox.sandbox.counters.get(kind, {}).items() if k.startswith(prefix))


def job_ctx(res, job_id: str, job_try: int = 1) -> Ctx:
    return Ctx(res, job_id=job_id, job_try=job_try, spec=resolve("marketing.run_bid_cycle"))


@pytest.fixture
async def synced(res, run_job, configure, sync_campaigns):
    """Campaigns synced from the sandbox; WB on `position` (target 1: every product is below it, so each
    cycle raises), Ozon on `drr`, YM left `manual`."""
    result = await sync_campaigns()
    await configure("wb", strategy_type="position", target_position=1, max_bid=10_000.0)
    await configure("ozon", strategy_type="drr", target_drr=10.0, max_bid=1_000.0)
    for mp in ("wb", "ozon", "ym"):
        assert (await run_job("marketing.collect_stats", marketplace=mp))["success"]
    return result


async def test_cycle_changes_bids_once_and_records_history(res, sandbox, run_job, synced):
    result = await run_job("marketing.run_bid_cycle")
    assert result["success"], result
    summary = result["result"]
    sent = total(sandbox, "bids_set", "wb:") + total(sandbox, "bids_set", "ozon:")
    assert summary["bids_updated"] == sent > 0
    assert total(sandbox, "bids_set", "ym:") == 0                       # manual: never changed
    history = await res.db.fetch("SELECT status, source, marketplace FROM marketing_bid_history")
    assert len(history) == sent and {h["status"] for h in history} == {"applied"}
    assert {h["marketplace"] for h in history} == {"wb", "ozon"}
    # position strategy: every WB bid went up by one step (5 %, at least 1 ₽) from what the marketplace had
    raised = await res.db.fetch(
        "SELECT h.old_bid, h.new_bid FROM marketing_bid_history h WHERE h.marketplace = 'wb'")
    assert all(r["new_bid"] - r["old_bid"] == max((r["old_bid"] * Decimal("0.05")).quantize(Decimal("0.01")),
                                                   Decimal(1)) for r in raised)
    stored = await res.redis.hgetall(LAST_CYCLE)
    assert stored[b"status"] == b"completed" and int(stored[b"bids_updated"]) == sent
    assert 0 < await res.redis.ttl(LAST_CYCLE) <= 3600
    # the history is the record of bids sent (money spent): it outlives a campaign an operator deletes
    gone = await res.db.fetchval("SELECT campaign_id FROM marketing_bid_history WHERE marketplace = 'wb' LIMIT 1")
    kept = await res.db.fetchval("SELECT count(*) FROM marketing_bid_history WHERE campaign_id = $1", gone)
    await res.db.execute("DELETE FROM marketing_campaigns WHERE id = $1", gone)
    assert await res.db.fetchval("SELECT count(*) FROM marketing_keywords WHERE campaign_id = $1", gone) == 0
    assert await res.db.fetchval("SELECT count(*) FROM marketing_bid_history WHERE campaign_id = $1", gone) == kept > 0


async def test_retry_of_the_same_cycle_sends_nothing_again(res, sandbox, synced):
    first = await bid_cycle.run_bid_cycle(job_ctx(res, "cycle-1"))
    sent = total(sandbox, "bids_set")
    assert first["bids_updated"] == sent > 0
    # the same job retried: position strategy would raise every bid again, but each change is keyed by slot
    again = await bid_cycle.run_bid_cycle(job_ctx(res, "cycle-1", job_try=2))
    assert again["bids_updated"] == 0 and total(sandbox, "bids_set") == sent
    # a new cycle (another slot) does move them again
    later = await bid_cycle.run_bid_cycle(job_ctx(res, "cycle-2"))
    assert later["bids_updated"] > 0 and total(sandbox, "bids_set") == sent + later["bids_updated"]


async def test_wb_cycle_reads_its_campaigns_by_id_and_skips_one_paused_since_the_sync(res, sandbox, synced):
    """The cycle asks WB for the campaigns it has stored, by id, without the count first; one that WB now shows
    paused (status 11) gets no bid, the others do."""
    campaigns = await res.db.fetch("SELECT brand_id, external_id FROM marketing_campaigns "
                                   "WHERE marketplace = 'wb' AND status = 'active' ORDER BY id")
    assert len(campaigns) >= 2
    paused = campaigns[0]
    ads.book(sandbox.sandbox, "wb-advert").paused.add((paused["brand_id"], int(paused["external_id"])))
    count_path = "wb-advert GET /adv/v1/promotion/count"
    counted = sandbox.sandbox.counters["requests"][count_path]
    result = await bid_cycle.run_bid_cycle(job_ctx(res, "cycle-wb"), marketplace="wb")
    assert result["status"] == "completed" and result["errors"] == 0 and result["bids_updated"] > 0
    assert sandbox.sandbox.counters["requests"][count_path] == counted
    assert total(sandbox, "bids_set", f"wb:{paused['brand_id']}:{paused['external_id']}:") == 0
    others = [c for c in campaigns[1:] if c["brand_id"] == paused["brand_id"]] or campaigns[1:]
    assert total(sandbox, "bids_set", f"wb:{others[0]['brand_id']}:{others[0]['external_id']}:") > 0


async def test_a_product_listed_since_the_sync_waits_for_its_minimum_and_fails_no_request(res, sandbox, run_job,
                                                                                          configure, synced):
    """A product WB lists that no campaign sync has read yet has no known minimum. Bidding it anyway could send a
    bid under WB's minimum, and WB refuses the whole request with it: every campaign's slice in that request. The
    cycle leaves such a product alone until the hourly sync reads its minimum."""
    new = await res.db.fetchrow(
        "SELECT k.id, k.external_id, c.external_id AS campaign, c.brand_id FROM marketing_keywords k "
        "JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE c.marketplace = 'wb' AND k.status = 'active' "
        "ORDER BY k.id LIMIT 1")
    await res.db.execute("DELETE FROM marketing_keywords WHERE id = $1", new["id"])     # as if never synced
    # its campaign's max_bid is under WB's 150 ₽ minimum: a product whose minimum is known gets no bid there
    await configure("wb", external_id=new["campaign"], max_bid=100.0)
    result = await bid_cycle.run_bid_cycle(job_ctx(res, "cycle-new-product"), marketplace="wb")
    assert result["status"] == "completed" and result["errors"] == 0
    assert result["bids_failed"] == 0 and result["bids_updated"] > 0           # no request was refused
    assert result["keywords_awaiting_minimum"] == 1
    stored = await res.db.fetchrow("SELECT k.id, k.min_bid FROM marketing_keywords k JOIN marketing_campaigns c "
                                   "ON c.id = k.campaign_id WHERE c.external_id = $1 AND k.external_id = $2",
                                   new["campaign"], new["external_id"])
    assert stored["min_bid"] is None                                            # stored by the cycle, unread
    assert await res.db.fetchval("SELECT count(*) FROM marketing_bid_history WHERE keyword_id = $1",
                                 stored["id"]) == 0
    assert total(sandbox, "bids_set", f"wb:{new['brand_id']}:{new['campaign']}:{new['external_id']}") == 0
    assert (await run_job("marketing.sync_campaigns"))["success"]
    assert await res.db.fetchval("SELECT min_bid FROM marketing_keywords WHERE id = $1", stored["id"]) == 150


async def test_pages_claimed_before_a_failing_page_are_sent_and_none_stays_pending(res, sandbox, run_job, configure):
    """YM claims each page of its listing as it is decided. When a later page's prices cannot be read, the
    account fails, and the changes already claimed are still sent and recorded: none is left `pending`."""
    ym_bids.set_scale(sandbox.sandbox, ads.Scale(campaigns=3, units=400))       # 1 200 SKUs: pages of 500
    assert (await run_job("marketing.sync_campaigns"))["success"]
    await configure("ym", strategy_type="cpo", target_cpo=30.0, max_bid=100_000.0)
    assert (await run_job("marketing.collect_stats", marketplace="ym"))["success"]
    failing = await res.db.fetchrow("SELECT brand_id, external_id FROM marketing_campaigns WHERE marketplace = 'ym' "
                                    "ORDER BY id LIMIT 1")           # a YM campaign's external id is its business
    sandbox.sandbox.add_fault("ym", "4xx", path=f"businesses/{failing['external_id']}/offer-prices", after=1)
    result = await bid_cycle.run_bid_cycle(job_ctx(res, "cycle-ym"), marketplace="ym")
    assert result["status"] == "completed" and result["errors"] == 1
    claimed_first_page = total(sandbox, "bids_set", f"ym:{failing['brand_id']}:")
    assert 0 < claimed_first_page <= 500
    assert total(sandbox, "bids_set", "ym:") == result["bids_updated"] > claimed_first_page
    statuses = dict(await res.db.fetch("SELECT status, count(*) FROM marketing_bid_history GROUP BY status"))
    assert statuses == {"applied": result["bids_updated"]}


async def test_concurrent_cycles_run_exactly_once(res, sandbox, synced):
    results = await asyncio.gather(*(bid_cycle.run_bid_cycle(job_ctx(res, f"c-{i}")) for i in range(3)))
    statuses = sorted(r["status"] for r in results)
    assert statuses == ["completed", "skipped", "skipped"]
    assert all(r["reason"] == "lock_not_acquired" for r in results if r["status"] == "skipped")
    done = next(r for r in results if r["status"] == "completed")
    assert total(sandbox, "bids_set") == done["bids_updated"] > 0
    assert not await res.redis.exists(LOCK_KEY)                          # released by its owner


async def test_lock_cannot_be_released_by_a_non_owner(res, sandbox, synced, monkeypatch):
    """The cycle's lock expires mid-cycle (TTL 1 s, a 2 s marketplace call) and someone else takes it: the
    finishing cycle must not delete the other holder's lock; nor can any non-owner release one."""
    monkeypatch.setattr(res.settings.marketing, "bid_lock_ttl_seconds", 1)
    sandbox.sandbox.add_fault("wb-advert", "timeout", count=2, path="/adv/v1/promotion/count", seconds=2.0,
                              process=True)
    cycle = asyncio.create_task(bid_cycle.run_bid_cycle(job_ctx(res, "slow")))
    await asyncio.sleep(1.3)
    other = res.redis.lock(LOCK_KEY, timeout=30, thread_local=False)
    assert await other.acquire(blocking=False)                            # the first one's TTL ran out
    result = await cycle
    assert result["status"] == "completed"
    assert await res.redis.get(LOCK_KEY) == other.local.token           # still the other holder's
    stranger = res.redis.lock(LOCK_KEY, timeout=30, thread_local=False)
    with pytest.raises(LockNotOwnedError):
        await stranger.do_release(b"not-the-owner-token")
    with pytest.raises(LockError):
        await stranger.release()
    assert await res.redis.get(LOCK_KEY) == other.local.token
    await other.release()


async def test_kill_switch_skips_the_cycle(res, sandbox, run_job, synced):
    await pause_bids(res.db, res.redis, by="test", now=res.clock.now(), reason="promo day")
    result = await run_job("marketing.run_bid_cycle")
    assert result["result"] == {"status": "skipped", "reason": "kill_switch", "paused_by": "test"}
    assert total(sandbox, "bids_set") == 0
    assert (await res.redis.hgetall(LAST_CYCLE))[b"status"] == b"skipped"
    assert (await resume_bids(res.db, res.redis, by="test"))["lifted"]["by"] == "test"
    result = await run_job("marketing.run_bid_cycle")
    assert result["result"]["status"] == "completed" and total(sandbox, "bids_set") > 0


async def test_keyword_with_100_clicks_and_no_orders_is_paused(res, sandbox, run_job, synced, clock):
    kw = await res.db.fetchrow(
        "SELECT k.id, k.external_id, c.external_id AS campaign, c.brand_id FROM marketing_keywords k "
        "JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE c.marketplace = 'ozon' ORDER BY k.id LIMIT 1")
    today = clock.now().astimezone(res.settings.tz).date()
    await res.db.execute("DELETE FROM marketing_stats WHERE keyword_id = $1", kw["id"])
    for back, clicks in ((3, 60), (2, 40)):                     # 100 clicks in the window, no order
        await res.db.execute(
            "INSERT INTO marketing_stats (campaign_id, keyword_id, marketplace, brand_id, stat_date, views, clicks, "
            "spent, orders, revenue) SELECT campaign_id, id, 'ozon', $2, $3, 2000, $4, 500, 0, 0 "
            "FROM marketing_keywords WHERE id = $1", kw["id"], kw["brand_id"], today - timedelta(days=back), clicks)
    result = await run_job("marketing.run_bid_cycle")
    assert result["result"]["keywords_paused"] == 1
    key = f"ozon:{kw['brand_id']}:{kw['campaign']}:{kw['external_id']}"
    assert sandbox.sandbox.counter("units_removed", key) == 1
    assert sandbox.sandbox.counter("bids_set", key) == 0
    row = await res.db.fetchrow("SELECT status, pause_reason FROM marketing_keywords WHERE id = $1", kw["id"])
    assert (row["status"], row["pause_reason"]) == ("paused", "clicks_without_orders")
    alert = await res.db.fetchrow("SELECT alert_type, action_taken FROM marketing_alerts WHERE keyword_id = $1",
                                  kw["id"])
    assert (alert["alert_type"], alert["action_taken"]) == ("keyword_no_orders", "pause_keyword")
    await run_job("marketing.run_bid_cycle")                    # paused stays paused: no second removal
    assert sandbox.sandbox.counter("units_removed", key) == 1


async def test_max_bid_caps_with_one_alert_a_day(res, sandbox, run_job, synced, configure):
    await configure("wb", strategy_type="position", target_position=1, max_bid=151.0)   # minimum 150 ₽
    first = await run_job("marketing.run_bid_cycle")
    capped = await res.db.fetchval("SELECT count(*) FROM marketing_alerts WHERE alert_type = 'cap_bid'")
    assert capped > 0 and first["result"]["alerts_sent"] >= capped
    bids = await res.db.fetch("SELECT new_bid FROM marketing_bid_history WHERE marketplace = 'wb'")
    assert bids and all(b["new_bid"] <= Decimal("151.00") for b in bids)
    second = await run_job("marketing.run_bid_cycle")
    assert await res.db.fetchval("SELECT count(*) FROM marketing_alerts WHERE alert_type = 'cap_bid'") == capped
    assert second["result"]["alerts_sent"] == 0                         # same conditions, same day: nothing new


async def test_apply_bid_change_is_exactly_once_under_retries(res, sandbox, run_job, synced, fast_retries,
                                                              monkeypatch):
    """The marketplace applies the bid but the answer comes after our timeout: the retry reads the bid back
    and records it instead of sending it again."""
    kw = await res.db.fetchrow(
        "SELECT k.id, k.external_id, k.current_bid, c.external_id AS campaign, c.brand_id FROM marketing_keywords k "
        "JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE c.marketplace = 'ozon' ORDER BY k.id LIMIT 1")
    new_bid = kw["current_bid"] + 7
    change = await request_bid_change(res.db, kw["id"], new_bid, request_id="op-42")
    assert await request_bid_change(res.db, kw["id"], new_bid, request_id="op-42") == change
    fast_retries("marketing.apply_bid_change", tries=3)
    http = res.http_for("ozon_performance")
    monkeypatch.setattr(http, "timeout", httpx.Timeout(0.5))
    sandbox.sandbox.add_fault("ozon-performance", "timeout", count=1, path=f"/campaign/{kw['campaign']}/products",
                              seconds=1.0, process=True)
    result = await run_job("marketing.apply_bid_change", change_id=change)
    key = f"ozon:{kw['brand_id']}:{kw['campaign']}:{kw['external_id']}"
    assert result["success"] and result["tries"] == 2
    assert result["result"]["sent"] is False and result["result"]["verified"] is True
    assert sandbox.sandbox.counter("bids_set", key) == 1
    row = await res.db.fetchrow("SELECT status FROM marketing_bid_history WHERE id = $1", change)
    assert row["status"] == "applied"
    assert await res.db.fetchval("SELECT current_bid FROM marketing_keywords WHERE id = $1", kw["id"]) == new_bid
    again = await run_job("marketing.apply_bid_change", change_id=change)     # a duplicate request
    assert again["result"]["status"] == "already_applied" and sandbox.sandbox.counter("bids_set", key) == 1


async def test_bid_change_outside_limits_is_refused(res, synced):
    kw = await res.db.fetchrow("SELECT k.id FROM marketing_keywords k JOIN marketing_campaigns c "
                               "ON c.id = k.campaign_id WHERE c.marketplace = 'ozon' LIMIT 1")
    with pytest.raises(ValueError, match="above the campaign's max_bid 1000.00"):
        await request_bid_change(res.db, kw["id"], 5000, request_id="too-much")
    with pytest.raises(ValueError, match="below the marketplace minimum"):
        await request_bid_change(res.db, kw["id"], 0, request_id="too-little")
    assert await res.db.fetchval("SELECT count(*) FROM marketing_bid_history") == 0


async def test_bench_scale_account_is_paced_without_429(res, sandbox, run_job, configure):
    """A bigger Ozon account (4 campaigns × 150 SKUs): the cycle's requests go out concurrently under the shared
    limiter and the sandbox never has to refuse one."""
    ads.set_scale(sandbox.sandbox, "ozon-performance", ads.Scale(campaigns=4, units=150), "ozon")
    assert (await run_job("marketing.sync_campaigns"))["success"]
    await configure("ozon", strategy_type="drr", target_drr=10.0, max_bid=1_000.0)
    assert (await run_job("marketing.collect_stats", marketplace="ozon"))["success"]
    result = await run_job("marketing.run_bid_cycle", marketplace="ozon")
    assert result["result"]["keywords_processed"] == 2 * 4 * 150
    assert result["result"]["bids_updated"] == total(sandbox, "bids_set", "ozon:") > 500
    assert sandbox.sandbox.counters.get("rate_limited", {}).get("ozon-performance:default", 0) == 0
