"""Hourly campaign sync (seed 002 §7.1 `sync_campaigns`): campaigns, units, current and minimum bids,
competitor bids."""
from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from adolfd.clients.errors import Unavailable
from adolfd.domain.marketing.ad_money import kopecks_to_roubles, rouble
from adolfd.engine.context import Ctx
from adolfd.workers.marketing.ad_account import MARKETPLACES
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.alerts import marketing_job
from adolfd.workers.marketing.campaigns import upsert_units

_UPSERT_CAMPAIGN = """
INSERT INTO marketing_campaigns AS c (brand_id, marketplace, external_id, name, status, mp_status, paused_by,
                                      max_bid, bid_type, payment_type, synced_at, strategy_type, target_position,
                                      target_drr, target_cpo, daily_limit)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (marketplace, brand_id, external_id) DO UPDATE SET
    name = EXCLUDED.name, mp_status = EXCLUDED.mp_status, bid_type = EXCLUDED.bid_type,
    payment_type = EXCLUDED.payment_type, synced_at = EXCLUDED.synced_at, updated_at = now(),
    status = CASE
        WHEN EXCLUDED.status = 'archived' THEN 'archived'
        WHEN EXCLUDED.status = 'active' THEN 'active'
        WHEN c.status = 'paused' THEN 'paused'
        ELSE EXCLUDED.status END,
    paused_by = CASE
        WHEN EXCLUDED.status = 'active' THEN NULL
        WHEN c.status = 'paused' THEN c.paused_by
        ELSE EXCLUDED.paused_by END,
    paused_at = CASE WHEN EXCLUDED.status = 'active' THEN NULL ELSE c.paused_at END
RETURNING id, status
"""


@marketing_job(queue="default")
async def sync_campaigns(ctx: Ctx) -> dict:
    """Campaigns, their units, current bids, marketplace minimum bids and competitor bids (hourly).
    A campaign seen for the first time gets its brand's defaults (settings `marketing.campaign_defaults`, per brand
    `brand_campaign_defaults`): a working strategy, max_bid and daily limit; later syncs never touch them."""
    pairs = [(mp, brand) for mp in MARKETPLACES for brand in ctx.brands()]
    outcomes = await asyncio.gather(*(_sync_account(ctx, mp, brand) for mp, brand in pairs), return_exceptions=True)
    summary: dict[str, Any] = {"campaigns": 0, "keywords": 0, "errors": 0, "accounts": {}}
    for (mp, brand), outcome in zip(pairs, outcomes, strict=False):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome
            summary["errors"] += 1
            summary["accounts"][f"{mp}:{brand}"] = f"error: {outcome}"[:300]
            ctx.log.error("sync_account_failed", marketplace=mp, brand=brand, error=str(outcome))
            continue
        if outcome is None:
            continue
        summary["campaigns"] += outcome[0]
        summary["keywords"] += outcome[1]
        summary["accounts"][f"{mp}:{brand}"] = {"campaigns": outcome[0], "keywords": outcome[1]}
    if summary["errors"] and summary["errors"] == len([a for a in summary["accounts"].values() if a]):
        raise Unavailable(f"sync_campaigns failed for every account: {summary['accounts']}")
    return summary


async def _sync_account(ctx: Ctx, marketplace: str, brand: str) -> tuple[int, int] | None:
    try:
        acc = account(ctx, marketplace, brand)
    except LookupError:
        return None
    now = ctx.now()
    found = await acc.campaigns()
    d = ctx.settings.marketing.defaults_for(brand)

    def money(value: float | None) -> Decimal | None:
        return None if value is None else kopecks_to_roubles(rouble(str(value)))

    defaults = (d.strategy, d.target_position, None if d.target_drr is None else Decimal(str(d.target_drr)),
                money(d.target_cpo_rub), money(d.daily_limit_rub))
    default_max = money(d.max_bid_rub)
    ids: dict[str, int] = {}
    for c in found:
        status = "archived" if c.archived else ("active" if c.active else "paused")
        row = await ctx.db.fetchrow(_UPSERT_CAMPAIGN, brand, marketplace, c.external_id, c.name, status, c.mp_status,
                                    None if c.active else "marketplace", default_max, c.bid_type, c.payment_type, now,
                                    *defaults)
        ids[c.external_id] = row["id"]
    live = [c for c in found if not c.archived]
    units = await acc.units([c.external_id for c in live])
    keywords = 0
    stored = await upsert_units(ctx.db, {ids[c.external_id]: units.get(c.external_id, []) for c in live}, now,
                                read_at=now)
    for c in live:
        listed = units.get(c.external_id, [])
        keywords += len(stored[ids[c.external_id]])
        if c.active:        # a paused YM campaign lists no SKUs (all bids 0): its units are not gone
            await ctx.db.execute(
                "UPDATE marketing_keywords SET status = 'removed', updated_at = now() WHERE campaign_id = $1 "
                "AND status = 'active' AND NOT (external_id = ANY($2::text[]))", ids[c.external_id],
                [u.external_id for u in listed])
        if not listed:
            continue
        minimum = await acc.min_bids(c, [u.external_id for u in listed])
        if minimum:
            await ctx.db.execute(
                "UPDATE marketing_keywords k SET min_bid = u.bid FROM unnest($2::text[], $3::numeric[]) AS u(ext, bid) "
                "WHERE k.campaign_id = $1 AND k.external_id = u.ext", ids[c.external_id], list(minimum),
                [kopecks_to_roubles(v) for v in minimum.values()])
        rivals = await acc.competitor_bids(c.external_id, [u.external_id for u in listed])
        if rivals:
            await ctx.db.execute(
                "INSERT INTO marketing_competitor_bids (marketplace, external_id, source, bid, observed_at) "
                "SELECT $1, u.ext, $2, u.bid, $3 FROM unnest($4::text[], $5::numeric[]) AS u(ext, bid) "
                "ON CONFLICT (marketplace, external_id, source) DO UPDATE SET bid = EXCLUDED.bid, "
                "observed_at = EXCLUDED.observed_at", marketplace, f"{marketplace}_competitive", now, list(rivals),
                [kopecks_to_roubles(v) for v in rivals.values()])
    return len(found), keywords
