"""Campaign set-up as an operator does it (`adolfd campaigns | campaign-set | campaign-pause | campaign-resume |
keyword-pause | keyword-resume | recipients`), against the sandbox marketplaces, real PostgreSQL and Redis."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from adolfd.engine.context import Ctx
from adolfd.settings import CampaignDefaults
from adolfd.workers.marketing.campaign_admin import CampaignRefused, set_keyword_running


@pytest.fixture
async def synced(res, run_job, monkeypatch, from_snapshot):
    """Campaigns synced with production's defaults and one brand's own (once a session, then restored)."""
    monkeypatch.setattr(res.settings.marketing, "campaign_defaults", CampaignDefaults())     # production's
    monkeypatch.setattr(res.settings.marketing, "brand_campaign_defaults",
                        {"ohana_kids": {"strategy": "position", "target_position": 3, "target_drr": None}})

    async def sync() -> None:
        assert (await run_job("marketing.sync_campaigns"))["success"]

    await from_snapshot("marketing.sync_campaigns with production and ohana_kids defaults", sync)


async def campaign(res, marketplace: str = "ozon", brand: str = "ohana_market"):
    return await res.db.fetchrow("SELECT * FROM marketing_campaigns WHERE marketplace = $1 AND brand_id = $2 "
                                 "ORDER BY id LIMIT 1", marketplace, brand)


async def test_new_campaigns_get_their_brands_working_defaults(res, synced, run_job):
    market, kids = await campaign(res), await campaign(res, brand="ohana_kids")
    d = CampaignDefaults()
    assert (market["strategy_type"], market["target_drr"], market["max_bid"], market["daily_limit"]) == (
        d.strategy, Decimal("10.00"), Decimal("100.00"), Decimal("3000.00"))
    assert (kids["strategy_type"], kids["target_position"]) == ("position", 3)
    await res.db.execute("UPDATE marketing_campaigns SET strategy_type = 'manual' WHERE id = $1", market["id"])
    await run_job("marketing.sync_campaigns")                           # a later sync keeps the operator's choice
    assert (await campaign(res))["strategy_type"] == "manual"


async def test_set_list_pause_and_resume_from_the_cli(res, synced, cli, sandbox):
    c = await campaign(res)
    code, out, err = await cli("campaign-set", str(c["id"]), "--strategy", "cpo", "--target", "250",
                               "--max-bid", "40", "--daily-limit", "1500", "--by", "olga")
    assert code == 0, err
    row = await campaign(res)
    assert (row["strategy_type"], row["target_cpo"], row["max_bid"], row["daily_limit"]) == (
        "cpo", Decimal("250.00"), Decimal("40.00"), Decimal("1500.00"))
    code, out, err = await cli("campaigns", "--brand", "ohana_market", "--marketplace", "ozon", "--json")
    listed = {x["id"]: x for x in json.loads(out)}
    assert listed[c["id"]]["strategy_type"] == "cpo" and Decimal(listed[c["id"]]["spent_today"]) == 0
    key = f"ozon:{c['brand_id']}:{c['external_id']}"
    code, out, err = await cli("campaign-pause", str(c["id"]))
    assert code == 0, err
    row = await campaign(res)
    assert (row["status"], row["paused_by"]) == ("paused", "operator")
    assert sandbox.sandbox.counter("campaign_paused", key) == 1
    # a pause by the safety logic is lifted from the CLI like any other
    await res.db.execute("UPDATE marketing_campaigns SET paused_by = 'safety' WHERE id = $1", c["id"])
    code, out, err = await cli("campaign-resume", str(c["id"]))
    assert code == 0, err
    assert json.loads(out) == {"campaign_id": c["id"], "status": "active", "changed": True, "was_paused_by": "safety"}
    assert sandbox.sandbox.counter("campaign_started", key) == 1
    assert (await campaign(res))["status"] == "active"


async def test_refusals_change_nothing(res, synced, cli):
    c = await campaign(res)
    before = dict(await campaign(res))
    for args, message in (
        (("campaign-set", str(c["id"]), "--strategy", "position"), "needs target_position"),
        (("campaign-set", str(c["id"]), "--max-bid", "-5"), "max_bid must not be negative"),
        (("campaign-set", "999999", "--max-bid", "5"), "no campaign 999999"),
        (("campaign-set", str(c["id"]), "--strategy", "cheapest"), "choose from 'position', 'drr', 'cpo', 'manual'"),
        (("campaign-set", str(c["id"])), "nothing to set"),
    ):
        code, _, err = await cli(*args)
        assert code == 2 and message in err, (args, err)
    assert dict(await campaign(res)) == before


async def test_keyword_pause_and_resume_on_the_marketplace(res, synced):
    kw = await res.db.fetchval("SELECT k.id FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = "
                               "k.campaign_id WHERE c.marketplace = 'wb' ORDER BY k.id LIMIT 1")
    ctx = Ctx(res, job_id="test")
    assert (await set_keyword_running(ctx, kw, run=False, by="t"))["changed"]
    assert await res.db.fetchval("SELECT status FROM marketing_keywords WHERE id = $1", kw) == "paused"
    assert not (await set_keyword_running(ctx, kw, run=False, by="t"))["changed"]
    assert (await set_keyword_running(ctx, kw, run=True, by="t"))["status"] == "active"
    with pytest.raises(CampaignRefused, match="no keyword 0"):
        await set_keyword_running(ctx, 0, run=True, by="t")


async def test_recipients_are_managed_from_the_cli(res, cli):
    code, out, err = await cli("recipients", "add", "Olga", "director", "--chat-id", "333")
    assert code == 0, err
    user_id = json.loads(out)["user_id"]
    code, _, err = await cli("recipients", "add", "X", "manager", "--brand", "nobrand", "--chat-id", "1")
    assert code == 2 and "unknown brand 'nobrand'" in err
    code, _, err = await cli("recipients", "remove", str(user_id))
    assert code == 0
    row = await res.db.fetchrow("SELECT role, telegram_chat_id, is_active FROM users WHERE id = $1", user_id)
    assert tuple(row) == ("director", 333, False)
    assert await res.db.fetchval("SELECT count(*) FROM users") == 1
