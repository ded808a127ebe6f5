"""Recommendations per campaign, accepted (bid changes applied once through apply_bid_change) or dismissed."""
from __future__ import annotations

import json
from datetime import date

import pytest
from adolfd.workers.marketing.recommendations import RecommendationRefused, decide, list_recommendations


@pytest.fixture
async def ozon_campaign(res, configure, fast_retries, sync_campaigns):
    fast_retries("marketing.apply_bid_change")
    await sync_campaigns()
    await configure("ozon", max_bid=1_000.0)
    return await res.db.fetchval("SELECT id FROM marketing_campaigns WHERE marketplace = 'ozon' ORDER BY id LIMIT 1")


async def recommend(res, campaign: int, kind: str) -> int:
    return await res.db.fetchval(
        "INSERT INTO marketing_recommendations (campaign_id, rec_date, kind, priority, text, provider) "
        "VALUES ($1, $2, $3, 'high', 'ДРР выше цели: снизьте ставки', 'rules') RETURNING id",
        campaign, date(2026, 3, 1), kind)


async def test_accepting_bid_advice_lowers_every_keyword_once(res, sandbox, cli, run_queue, ozon_campaign):
    rec = await recommend(res, ozon_campaign, "drr_above_target")
    other = await recommend(res, ozon_campaign, "ctr_falling")
    code, out, err = await cli("recommendations", "--campaign", str(ozon_campaign), "--json")
    assert code == 0, err
    assert {r["id"] for r in json.loads(out)} == {rec, other}
    before = {r["id"]: r["current_bid"] for r in await res.db.fetch(
        "SELECT id, current_bid FROM marketing_keywords WHERE campaign_id = $1 AND status = 'active'", ozon_campaign)}
    code, out, err = await cli("recommendation-accept", str(rec), "--by", "olga")
    assert code == 0, err
    accepted = json.loads(out)
    assert accepted["status"] == "accepted" and accepted["by"] == "cli:olga" and accepted["bid_changes"]
    await run_queue("marketing", "high")
    after = {r["id"]: r["current_bid"] for r in await res.db.fetch(
        "SELECT id, current_bid FROM marketing_keywords WHERE campaign_id = $1", ozon_campaign)}
    lowered = [k for k in before if after[k] < before[k]]
    assert len(lowered) == len(accepted["bid_changes"]) > 0
    sent = sum(v for k, v in sandbox.sandbox.counters.get("bids_set", {}).items() if k.startswith("ozon:"))
    assert sent == len(accepted["bid_changes"])
    code, _, err = await cli("recommendation-accept", str(rec))
    assert code == 2 and f"recommendation {rec} is already accepted" in err
    dismissed = await decide(res.db, res.redis, other, accept=False, by="telegram:ivan", now=res.clock.now())
    assert dismissed["bid_changes"] == [] and dismissed["status"] == "dismissed"
    assert await list_recommendations(res.db, campaign_id=ozon_campaign) == []


async def test_unknown_recommendation_is_refused(res, cli, ozon_campaign):
    code, _, err = await cli("recommendation-dismiss", "424242")
    assert code == 2 and "no recommendation 424242" in err
    with pytest.raises(RecommendationRefused):
        await decide(res.db, res.redis, 424242, accept=True, by="t", now=res.clock.now())
