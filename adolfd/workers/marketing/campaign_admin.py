"""Campaign set-up by people (seed 002 §7.3.1, §7.3.3): the list with strategy, targets, limits and today's spend;
strategy and limits per campaign; pausing and resuming a campaign or a keyword on its marketplace (a pause by the
safety logic or a budget pause included). Shared by the CLI and the admin bot; who acted is logged."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
import structlog

from adolfd.domain.marketing.ad_money import kopecks_to_roubles, rouble
from adolfd.domain.marketing.bid_engine import CampaignTarget, Strategy
from adolfd.engine.context import Ctx
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.campaigns import _keywords, _order, load_campaigns
from adolfd.workers.marketing.pausing import pause_campaign, resume_campaign

log = structlog.get_logger(__name__)
STRATEGIES = tuple(s.value for s in Strategy)

_LIST = """
SELECT id, brand_id, marketplace, external_id, name, status, paused_by, strategy_type, target_position, target_drr,
       target_cpo, max_bid, daily_limit,
       CASE WHEN spent_date = $1 THEN spent_today ELSE 0 END AS spent_today,
       CASE WHEN spent_date = $1 THEN revenue_today ELSE 0 END AS revenue_today
FROM marketing_campaigns
WHERE ($2::text IS NULL OR brand_id = $2) AND ($3::text IS NULL OR marketplace = $3) AND status <> 'archived'
ORDER BY brand_id, marketplace, id
"""


class CampaignRefused(ValueError):
    """The change does not fit (unknown campaign or keyword, a strategy without its target, a state); nothing
    was changed."""


async def list_campaigns(db: asyncpg.Pool, today: date, *, brand: str | None = None,
                         marketplace: str | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch(_LIST, today, brand, marketplace)]


@dataclass(frozen=True)
class CampaignSetup:
    strategy: str | None = None
    target: str | None = None              # position (≥ 1), drr percent, or cpo roubles, as the strategy needs
    max_bid: str | None = None             # roubles
    daily_limit: str | None = None         # roubles; "none" lifts the limit


def _money(text: str, what: str) -> Decimal:
    try:
        value = kopecks_to_roubles(rouble(text))
    except (InvalidOperation, ValueError, ArithmeticError):
        raise CampaignRefused(f"{what} must be an amount in roubles like 150 or 12.50, got {text!r}") from None
    if value < 0:
        raise CampaignRefused(f"{what} must not be negative, got {text}")
    return value


async def set_campaign(db: asyncpg.Pool, campaign_id: int, setup: CampaignSetup, *, by: str) -> dict[str, Any]:
    """Change strategy/target/max_bid/daily_limit; the result is checked as the bid cycle would read it
    (a strategy without its target is refused) before anything is written."""
    async with db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM marketing_campaigns WHERE id = $1 FOR UPDATE", campaign_id)
        if row is None:
            raise CampaignRefused(f"no campaign {campaign_id} (`adolfd campaigns` lists them)")
        new = dict(row)
        if setup.strategy is not None:
            if setup.strategy not in STRATEGIES:
                raise CampaignRefused(f"unknown strategy {setup.strategy!r}; expected one of {', '.join(STRATEGIES)}")
            new["strategy_type"] = setup.strategy
        if setup.target is not None:
            strategy = new["strategy_type"]
            if strategy == "manual":
                raise CampaignRefused("strategy 'manual' takes no target")
            try:
                if strategy == "position":
                    new["target_position"] = int(setup.target)
                elif strategy == "drr":
                    new["target_drr"] = Decimal(setup.target)
                else:
                    new["target_cpo"] = _money(setup.target, "target cpo")
            except (ValueError, InvalidOperation) as exc:
                if isinstance(exc, CampaignRefused):
                    raise
                raise CampaignRefused(f"target {setup.target!r} does not fit strategy {strategy!r}") from None
        if setup.max_bid is not None:
            new["max_bid"] = _money(setup.max_bid, "max_bid")
        if setup.daily_limit is not None:
            new["daily_limit"] = None if setup.daily_limit.lower() == "none" else _money(setup.daily_limit,
                                                                                          "daily_limit")
        try:
            CampaignTarget(Strategy(new["strategy_type"]), int(new["max_bid"] * 100),
                           new["target_position"], new["target_drr"],
                           int(new["target_cpo"] * 100) if new["target_cpo"] is not None else None)
        except ValueError as exc:
            raise CampaignRefused(f"campaign {campaign_id}: {exc}") from None
        await conn.execute(
            "UPDATE marketing_campaigns SET strategy_type = $2, target_position = $3, target_drr = $4, "
            "target_cpo = $5, max_bid = $6, daily_limit = $7, updated_at = now() WHERE id = $1", campaign_id,
            new["strategy_type"], new["target_position"], new["target_drr"], new["target_cpo"], new["max_bid"],
            new["daily_limit"])
    log.info("campaign_set_up", campaign=campaign_id, by=by, strategy=new["strategy_type"],
             max_bid=str(new["max_bid"]), daily_limit=str(new["daily_limit"]))
    return {k: new[k] for k in ("id", "strategy_type", "target_position", "target_drr", "target_cpo", "max_bid",
                                "daily_limit")}


async def set_campaign_running(ctx: Ctx, campaign_id: int, *, run: bool, by: str) -> dict[str, Any]:
    """Pause (as `operator`) or resume a campaign on its marketplace; resuming lifts any pause (safety, budget,
    operator). Asking for the state it is already in changes nothing."""
    today = ctx.now().date()
    found = [c for c in await load_campaigns(ctx.db, today, statuses=("active", "paused")) if c.id == campaign_id]
    if not found:
        raise CampaignRefused(f"no active or paused campaign {campaign_id} (`adolfd campaigns` lists them)")
    campaign = found[0]
    acc = account(ctx, campaign.marketplace, campaign.brand_id)
    if run:
        changed = campaign.status == "paused" and await resume_campaign(ctx, acc, campaign)
    else:
        changed = await pause_campaign(ctx, acc, campaign, paused_by="operator")
    log.info("campaign_run_state", campaign=campaign_id, by=by, run=run, changed=changed,
             was_paused_by=campaign.paused_by)
    return {"campaign_id": campaign_id, "status": "active" if run else "paused", "changed": changed,
            "was_paused_by": campaign.paused_by}


async def set_keyword_running(ctx: Ctx, keyword_id: int, *, run: bool, by: str) -> dict[str, Any]:
    """Pause or resume one keyword (bid-able unit) on its marketplace, the safety logic's pauses included."""
    row = await ctx.db.fetchrow("SELECT campaign_id, status FROM marketing_keywords WHERE id = $1", keyword_id)
    if row is None:
        raise CampaignRefused(f"no keyword {keyword_id}")
    if row["status"] == ("active" if run else "paused"):
        return {"keyword_id": keyword_id, "status": row["status"], "changed": False}
    if row["status"] == "removed":
        raise CampaignRefused(f"keyword {keyword_id} was removed from its campaign on the marketplace")
    campaigns = [c for c in await load_campaigns(ctx.db, ctx.now().date(), statuses=("active", "paused"))
                 if c.id == row["campaign_id"]]
    if not campaigns:
        raise CampaignRefused(f"keyword {keyword_id} belongs to an archived campaign")
    campaign = campaigns[0]
    acc = account(ctx, campaign.marketplace, campaign.brand_id)
    kw = next(r for r in (await _keywords(ctx.db, [campaign.id]))[campaign.id] if r["id"] == keyword_id)
    if run:
        await acc.resume_units(campaign.external_id, [_order(kw, campaign)])
    else:
        await acc.pause_units(campaign.external_id, [kw["external_id"]])
    await ctx.db.execute(
        "UPDATE marketing_keywords SET status = $2, pause_reason = $3, updated_at = now() WHERE id = $1",
        keyword_id, "active" if run else "paused", None if run else "operator")
    log.info("keyword_run_state", keyword=keyword_id, by=by, run=run)
    return {"keyword_id": keyword_id, "status": "active" if run else "paused", "changed": True}
