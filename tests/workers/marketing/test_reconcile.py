"""`reconcile_bid_history` settles the bid changes failures left open from the bids the sandbox marketplaces hold:
a 5xx storm (`unknown`, nothing sent), timeouts after the marketplace acted (`unknown`, sent), a killed cycle
(`pending`, sent or not), and an operator's change lost before its job ran."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from adolfd.keys import MARKETING_BID_CYCLE_LOCK as LOCK_KEY
from adolfd.workers.marketing.bid_changes import request_bid_change


@pytest.fixture
async def ozon(res, run_job, configure, monkeypatch, sync_campaigns):
    """Ozon campaigns on the drr strategy (each cycle moves bids); changes settle at once; one HTTP try."""
    await sync_campaigns()
    await configure("ozon", strategy_type="drr", target_drr=10.0, max_bid=1_000.0)
    assert (await run_job("marketing.collect_stats", marketplace="ozon"))["success"]
    monkeypatch.setattr(res.settings.marketing, "reconcile_after_seconds", 0)
    monkeypatch.setattr(res.settings.http, "attempts", 1)
    return [r["external_id"] for r in await res.db.fetch(
        "SELECT external_id FROM marketing_campaigns WHERE marketplace = 'ozon' ORDER BY id")]


def sent(sandbox) -> dict[str, int]:
    return {k: v for k, v in sandbox.sandbox.counters.get("bids_set", {}).items() if k.startswith("ozon:")}


async def history(res) -> list[dict]:
    rows = await res.db.fetch(
        "SELECT h.id, h.status, h.new_bid, h.old_bid, h.error, k.current_bid, "
        "'ozon:' || c.brand_id || ':' || c.external_id || ':' || k.external_id AS unit "
        "FROM marketing_bid_history h JOIN marketing_keywords k ON k.id = h.keyword_id "
        "JOIN marketing_campaigns c ON c.id = h.campaign_id ORDER BY h.id")
    return [dict(r) for r in rows]


async def test_a_5xx_storm_and_late_answers_are_settled_from_the_marketplace(res, sandbox, run_job, ozon,
                                                                             monkeypatch):
    storm, late = ozon[0], ozon[1]
    sandbox.sandbox.add_fault("ozon-performance", "5xx", path=f"/campaign/{storm}/products")
    # the marketplace sets the bids, the answer comes after the client gave up
    monkeypatch.setattr(res.http_for("ozon_performance"), "timeout", httpx.Timeout(0.5))
    sandbox.sandbox.add_fault("ozon-performance", "timeout", path=f"/campaign/{late}/products", seconds=1.0,
                              process=True)
    cycle = await run_job("marketing.run_bid_cycle", marketplace="ozon")
    assert cycle["success"] and cycle["result"]["bids_failed"] > 0
    sandbox.sandbox.clear_faults()
    before = await history(res)
    unknown = [r for r in before if r["status"] == "unknown"]
    assert {r["unit"].split(":")[2] for r in unknown} == {storm, late}
    landed = sent(sandbox)

    out = await run_job("marketing.reconcile_bid_history")
    assert out["success"], out
    after = {r["id"]: r for r in await history(res)}
    assert [r for r in after.values() if r["status"] in ("pending", "unknown")] == []   # wrong rows: 0
    for row in unknown:
        settled = after[row["id"]]
        if landed.get(row["unit"]):                       # the late answers: the bid is there
            assert settled["status"] == "applied" and settled["current_bid"] == row["new_bid"], settled
        else:                                             # the storm: nothing reached the marketplace
            assert settled["status"] == "failed" and "not applied" in settled["error"], settled
            assert settled["current_bid"] == row["old_bid"]
    assert out["result"]["applied"] == sum(1 for r in unknown if landed.get(r["unit"])) > 0
    assert out["result"]["not_applied"] == sum(1 for r in unknown if not landed.get(r["unit"])) > 0
    assert sent(sandbox) == landed                        # reconciling sends nothing
    again = await run_job("marketing.reconcile_bid_history")
    assert again["result"]["open"] == 0


async def test_a_killed_cycles_pending_rows_and_a_lost_operator_change(res, sandbox, run_job, run_queue, ozon):
    kws = await res.db.fetch(
        "SELECT k.id, k.campaign_id, k.current_bid FROM marketing_keywords k JOIN marketing_campaigns c "
        "ON c.id = k.campaign_id WHERE c.marketplace = 'ozon' AND k.status = 'active' ORDER BY k.id LIMIT 3")
    never_sent, operator = kws[0], kws[2]
    # a cycle claimed a change and died before sending it
    await res.db.execute(
        "INSERT INTO marketing_bid_history (keyword_id, campaign_id, marketplace, brand_id, old_bid, new_bid, source, "
        "change_key) SELECT k.id, k.campaign_id, 'ozon', c.brand_id, k.current_bid, k.current_bid + 3, 'bid_cycle', "
        "'cycle:killed:' || k.id FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id "
        "WHERE k.id = $1",
        never_sent["id"])
    # an operator's change recorded, its job lost with Redis
    change = await request_bid_change(res.db, operator["id"], operator["current_bid"] + Decimal(5),
                                      request_id="lost-with-redis")
    # a cycle holds the lock: the reconciliation waits for its next run
    await res.redis.set(LOCK_KEY, "someone", ex=60)
    assert (await run_job("marketing.reconcile_bid_history"))["result"]["status"] == "skipped"
    await res.redis.delete(LOCK_KEY)

    out = await run_job("marketing.reconcile_bid_history")
    assert out["result"]["not_applied"] == 1 and out["result"]["resent"] == 1
    await run_queue("marketing", "high")                                     # the apply_bid_change it enqueued
    rows = {r["id"]: r for r in await history(res)}
    assert rows[change]["status"] == "applied"
    assert rows[change]["current_bid"] == operator["current_bid"] + Decimal(5)
    [killed] = [r for r in rows.values() if r["id"] != change]
    assert killed["status"] == "failed" and killed["current_bid"] == never_sent["current_bid"]
    assert sum(sent(sandbox).values()) == 1                                  # only the operator's bid went out


async def test_the_ten_minute_run_looks_at_the_last_day_and_the_nightly_run_at_every_change(res, sandbox, run_job,
                                                                                           ozon):
    """The 10-minute run reads open changes through the `created_at` index, the last `within_hours` of them; a
    change left open longer (its account failing all day) is settled by the nightly run over the whole history."""
    kws = await res.db.fetch(
        "SELECT k.id FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id "
        "WHERE c.marketplace = 'ozon' AND k.status = 'active' ORDER BY k.id LIMIT 2")
    # claimed by cycles that died, never sent: 3 hours and 3 days ago
    for kw, age in zip(kws, (timedelta(hours=3), timedelta(days=3)), strict=True):
        await res.db.execute(
            "INSERT INTO marketing_bid_history (keyword_id, campaign_id, marketplace, brand_id, old_bid, new_bid, "
            "source, change_key, created_at) SELECT k.id, k.campaign_id, 'ozon', c.brand_id, k.current_bid, "
            "k.current_bid + 3, 'bid_cycle', 'cycle:killed:' || k.id, now() - $2::interval "
            "FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE k.id = $1",
            kw["id"], age)
    recent = await run_job("marketing.reconcile_bid_history")
    assert recent["result"]["open"] == 1 and recent["result"]["not_applied"] == 1
    status = "SELECT status FROM marketing_bid_history WHERE keyword_id = $1"
    assert [await res.db.fetchval(status, kw["id"]) for kw in kws] == ["failed", "pending"]
    nightly = await run_job("marketing.reconcile_bid_history", whole_history="true")     # as typed by hand
    assert nightly["result"]["open"] == 1 and nightly["result"]["not_applied"] == 1
    assert await res.db.fetchval(status, kws[1]["id"]) == "failed"
    with pytest.raises(Exception, match="within_hours"):                   # refused before it is queued
        await run_job("marketing.reconcile_bid_history", within_hours=0)
    assert sum(sent(sandbox).values()) == 0
