"""Every marketplace fake × every fault the sandbox can inject (5xx, a timeout, malformed JSON, a 200 with a
body of the wrong shape): what adolfd records stays true.

- Bids (each advertising fake, the bid-setting request faulted once): an operator's bid change ends with the
  marketplace holding the bid at most once and, after `reconcile_bid_history`, a row that says what the
  marketplace holds (`applied` exactly when the bid is there).
- Review polls (each feedback fake, the poll's first request faulted): after the next clean poll every review
  the marketplace has is stored once; none is invented or lost.

- 429 storms (each fake, STORM consecutive rate-limit refusals in the API's own words, YM's 420 included): the
  client waits each one out (shared limiter penalised by Retry-After) within one call, so the bid is set once and
  the reviews stored once with the cursor moved on; no request follows a refusal sooner than it was told.

Counted: jobs lost 0, effects twice 0, wrong rows 0.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import resolve
from adolfd.sandbox import feedback_feed
from adolfd.sandbox.accounts import BRANDS
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.bid_changes import _same_bid, request_bid_change
from adolfd.workers.marketing.campaigns import _k

pytestmark = [pytest.mark.slow, pytest.mark.faults]
MODES = ("5xx", "timeout", "malformed_json", "wrong_shape")
AD_FAKES = {"wb": ("wb-advert", "/api/advert/v1/bids"), "ozon": ("ozon-performance", "/products"),
            "ym": ("ym", "/bids")}


@pytest.fixture
def quick(res, monkeypatch):
    """Retries within milliseconds, a client that gives up after 0.5 s, changes settled at once."""
    from adolfd.engine.retry import RetryPolicy
    monkeypatch.setattr(resolve("marketing.apply_bid_change"), "retry", RetryPolicy(tries=2, delay=0.01))
    monkeypatch.setattr(res.settings.http, "attempts", 1)
    monkeypatch.setattr(res.settings.http, "timeout", 0.5)
    monkeypatch.setattr(res.settings.marketing, "reconcile_after_seconds", 0)
    return res


async def _live_bid(res, row) -> int | None:
    ctx = Ctx(res, job_id="read", job_try=1, spec=resolve("marketing.sync_campaigns"))
    units = (await account(ctx, row["marketplace"], row["brand_id"]).units([row["campaign"]])).get(row["campaign"], [])
    return next((u.bid for u in units if u.external_id == row["unit"]), None)


@pytest.mark.parametrize("marketplace", sorted(AD_FAKES))
async def test_bid_changes_under_every_fault(res, sandbox, run_job, run_queue, quick, marketplace):
    api, path = AD_FAKES[marketplace]
    assert (await run_job("marketing.sync_campaigns"))["success"]
    await res.db.execute("UPDATE marketing_campaigns SET max_bid = 100000")
    rows = await res.db.fetch(
        "SELECT k.id, k.current_bid, k.external_id AS unit, k.price, c.external_id AS campaign, c.marketplace, "
        "c.brand_id FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id "
        "WHERE c.marketplace = $1 AND k.status = 'active' ORDER BY k.id LIMIT $2", marketplace, len(MODES))
    assert len(rows) == len(MODES)
    outcome = {}
    for mode, row in zip(MODES, rows, strict=True):
        for http in res.http.values():                       # the shortened timeout applies to new clients only
            http.timeout = httpx.Timeout(0.5)
        change = await request_bid_change(res.db, row["id"], row["current_bid"] + Decimal(7), request_id=mode)
        sandbox.sandbox.add_fault(api, mode, count=1, path=path, seconds=1.0)
        before = sum(sandbox.sandbox.counters.get("bids_set", {}).values())
        result = await run_job("marketing.apply_bid_change", change_id=change)
        assert result["status"] == "complete", (mode, result)                     # jobs lost: 0
        sandbox.sandbox.clear_faults()
        sent = sum(sandbox.sandbox.counters.get("bids_set", {}).values()) - before
        assert sent <= 1, (mode, sent)                                            # effects twice: 0
        outcome[mode] = (change, row, result["success"], sent)
    assert (await run_job("marketing.reconcile_bid_history"))["success"]
    await run_queue("marketing", "high")            # operator changes the marketplace does not have: applied again
    for mode, (change, row, _, _) in outcome.items():
        status = await res.db.fetchval("SELECT status FROM marketing_bid_history WHERE id = $1", change)
        live = await _live_bid(res, row)
        price = _k(row["price"]) if row["price"] is not None else None
        there = live is not None and _same_bid(marketplace, live, _k(row["current_bid"] + Decimal(7)), price)
        assert status in ("applied", "failed"), (mode, status)                    # nothing left open
        assert (status == "applied") == there, (mode, status, live)              # wrong rows: 0
    assert sum(sandbox.sandbox.counters.get("bids_set", {}).values()) <= len(MODES)   # each bid once at most
    print(marketplace, {m: ("ok" if s else "failed", n) for m, (_, _, s, n) in outcome.items()})


# platform → (the fake's API name for faults, the feed's state key, the poll job)
FEEDS = {"wb": ("wb-feedbacks", "wb-feedbacks", "poll_wb_reviews"),
         "ozon": ("ozon-seller", "ozon-reviews", "poll_ozon_reviews"),
         "ym": ("ym", "ym-feedback", "poll_ym_reviews")}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("platform", sorted(FEEDS))
async def test_review_polls_under_every_fault(res, sandbox, run_job, quick, at, monkeypatch, platform, mode):
    from datetime import UTC, datetime

    from adolfd.engine.retry import RetryPolicy
    api, feed, poll = FEEDS[platform]
    monkeypatch.setattr(resolve(f"reputation.{poll}"), "retry", RetryPolicy(tries=1, delay=0.01))
    at(datetime.now(UTC).replace(microsecond=0))
    feedback_feed.configure(sandbox.sandbox, feed, backlog=3)
    sandbox.sandbox.add_fault(api, mode, count=1, seconds=1.0)
    faulted = await run_job(f"reputation.{poll}")
    assert faulted["status"] == "complete", faulted                               # jobs lost: 0
    sandbox.sandbox.clear_faults()
    clean = await run_job(f"reputation.{poll}")
    assert clean["success"], clean
    expected = sum(len(feedback_feed.arrived(sandbox.sandbox, feed, platform, brand, "review")) for brand in BRANDS)
    stored = await res.db.fetch("SELECT external_id FROM reputation_items WHERE platform = $1 AND item_type = "
                                "'review'", platform)
    assert len(stored) == expected > 0                                            # none lost, none invented
    assert len({r["external_id"] for r in stored}) == len(stored)                 # none twice


# -- 429 storms: STORM consecutive rate-limit refusals (YM: 420), each asking for STORM_WAIT seconds ------------

STORM = 5
STORM_WAIT = 2.0       # whole seconds: YM's X-RateLimit-Resource-Until has a resolution of one second
STORM_GAP = 0.9        # at least this long between a refusal and the next request of that account and path


@pytest.fixture
def patient(quick, monkeypatch):
    """`quick`, but a client that waits out a whole storm within one call."""
    monkeypatch.setattr(quick.settings.http, "attempts", STORM + 2)
    return quick


def _storm_requests(sandbox, api: str, since: int, path: str = "") -> list:
    return [r for r in list(sandbox.requests)[since:] if r.api == api and path in r.path]


def _assert_waited(records) -> None:
    """After each refusal the next request of the same account and path came no sooner than it was told."""
    for i, refused in enumerate(records):
        if refused.fault != "429":
            continue
        later = [r for r in records[i + 1:] if (r.account, r.path) == (refused.account, refused.path)]
        assert later, ("the refused call was never repeated", refused)
        gap = (datetime.fromisoformat(later[0].at) - datetime.fromisoformat(refused.at)).total_seconds()
        assert gap >= STORM_GAP, (refused, later[0], gap)


@pytest.mark.parametrize("marketplace", sorted(AD_FAKES))
async def test_bid_change_through_a_429_storm(res, sandbox, run_job, patient, marketplace):
    api, path = AD_FAKES[marketplace]
    fake = sandbox.sandbox
    assert (await run_job("marketing.sync_campaigns"))["success"]
    await res.db.execute("UPDATE marketing_campaigns SET max_bid = 100000")
    row = await res.db.fetchrow(
        "SELECT k.id, k.current_bid, k.external_id AS unit, k.price, c.external_id AS campaign, c.marketplace, "
        "c.brand_id FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id "
        "WHERE c.marketplace = $1 AND k.status = 'active' ORDER BY k.id LIMIT 1", marketplace)
    for http in res.http.values():
        http.timeout = httpx.Timeout(0.5)
    change = await request_bid_change(res.db, row["id"], row["current_bid"] + Decimal(7), request_id="storm")
    fake.add_fault(api, "429", count=STORM, path=path, seconds=STORM_WAIT)
    before, since = sum(fake.counters.get("bids_set", {}).values()), len(fake.requests)
    result = await run_job("marketing.apply_bid_change", change_id=change)
    assert result["status"] == "complete" and result["success"], result                 # jobs lost: 0
    assert fake.faults == [] and fake.counter("faults", f"{api}:429") == STORM           # the whole storm answered
    assert sum(fake.counters.get("bids_set", {}).values()) - before == 1                 # effects twice: 0
    records = _storm_requests(fake, api, since, path)
    assert len(records) <= STORM + 3, [(r.method, r.path, r.status) for r in records]   # no hammering
    _assert_waited(records)
    status = await res.db.fetchval("SELECT status FROM marketing_bid_history WHERE id = $1", change)
    live = await _live_bid(res, row)
    price = _k(row["price"]) if row["price"] is not None else None
    assert status == "applied", status                                                  # wrong rows: 0
    assert live is not None and _same_bid(marketplace, live, _k(row["current_bid"] + Decimal(7)), price), live
    assert (await run_job("marketing.reconcile_bid_history"))["success"]
    assert sum(fake.counters.get("bids_set", {}).values()) - before == 1                 # not applied again


@pytest.mark.parametrize("platform", sorted(FEEDS))
async def test_review_poll_through_a_429_storm(res, sandbox, run_job, patient, monkeypatch, platform):
    from adolfd.engine.retry import RetryPolicy
    api, feed, poll = FEEDS[platform]
    fake = sandbox.sandbox           # a running clock: YM's wait is a time of day, read against the real one
    monkeypatch.setattr(resolve(f"reputation.{poll}"), "retry", RetryPolicy(tries=1, delay=0.01))
    options = feedback_feed.configure(fake, feed, backlog=3)
    fake.add_fault(api, "429", count=STORM, seconds=STORM_WAIT)
    since = len(fake.requests)
    stormed = await run_job(f"reputation.{poll}")
    assert stormed["status"] == "complete" and stormed["success"], stormed               # jobs lost: 0
    assert fake.faults == [] and fake.counter("faults", f"{api}:429") == STORM
    records = _storm_requests(fake, api, since)
    served = [r for r in records if r.fault is None]
    assert len(served) <= len(BRANDS) + 1, [(r.account, r.path, r.status, r.fault) for r in records]
    assert len(records) == STORM + len(served)                                           # no hammering
    _assert_waited(records)

    async def stored() -> list[str]:
        return [r["external_id"] for r in await res.db.fetch(
            "SELECT external_id FROM reputation_items WHERE platform = $1 AND item_type = 'review'", platform)]

    def expected() -> int:
        return sum(len(feedback_feed.arrived(fake, feed, platform, brand, "review")) for brand in BRANDS)

    first = await stored()
    assert len(first) == expected() > 0 and len(set(first)) == len(first)                # none lost, none twice
    cursors = await res.db.fetch("SELECT brand_id, cursor FROM reputation_poll_cursors WHERE platform = $1 AND "
                                 "item_type = 'review'", platform)
    for cursor in cursors:                                                               # the cursor moved on
        newest = max(e.created_at for e in feedback_feed.arrived(fake, feed, platform, cursor["brand_id"], "review"))
        assert cursor["cursor"] == newest, (cursor, newest)
    assert cursors
    fake.advance(options["every_seconds"] * 2)                                           # more reviews arrive
    assert (await run_job(f"reputation.{poll}"))["success"]
    after = await stored()
    assert len(after) == expected() > len(first) and len(set(after)) == len(after)
