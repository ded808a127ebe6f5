"""Pausing and resuming a campaign on its marketplace (seed 002 §7.3.1, §7.3.3); the row status guards against
doing either twice."""
from __future__ import annotations

import structlog

from adolfd.engine.context import Ctx
from adolfd.workers.marketing.ad_account import AdAccount
from adolfd.workers.marketing.campaigns import CampaignRow, _keywords, _order

log = structlog.get_logger(__name__)


async def pause_campaign(ctx: Ctx, acc: AdAccount, campaign: CampaignRow, *, paused_by: str) -> bool:
    """Pause on the marketplace, then mark the row; a row already paused is left alone (no second call)."""
    current = await ctx.db.fetchval("SELECT status FROM marketing_campaigns WHERE id = $1", campaign.id)
    if current != "active":
        return False
    units = [_order(r, campaign) for r in (await _keywords(ctx.db, [campaign.id]))[campaign.id]
             if r["status"] == "active"]
    await acc.pause_campaign(campaign.external_id, units)
    changed = await ctx.db.fetchval(
        "UPDATE marketing_campaigns SET status = 'paused', paused_by = $2, paused_at = $3, updated_at = now() "
        "WHERE id = $1 AND status = 'active' RETURNING id", campaign.id, paused_by, ctx.now())
    log.warning("campaign_paused", campaign=campaign.id, marketplace=campaign.marketplace, brand=campaign.brand_id,
                by=paused_by)
    return changed is not None


async def resume_campaign(ctx: Ctx, acc: AdAccount, campaign: CampaignRow) -> bool:
    units = [_order(r, campaign) for r in (await _keywords(ctx.db, [campaign.id]))[campaign.id]
             if r["status"] == "active"]
    await acc.resume_campaign(campaign.external_id, units)
    changed = await ctx.db.fetchval(
        "UPDATE marketing_campaigns SET status = 'active', paused_by = NULL, paused_at = NULL, updated_at = now() "
        "WHERE id = $1 AND status = 'paused' RETURNING id", campaign.id)
    log.info("campaign_resumed", campaign=campaign.id, marketplace=campaign.marketplace, brand=campaign.brand_id)
    return changed is not None
