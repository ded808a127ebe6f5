"""Stats collection (seed 002 §7.3.2): today's and yesterday's figures per campaign and unit, upserted by their
natural keys."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from adolfd.domain.marketing.ad_money import kopecks_to_roubles
from adolfd.engine.arguments import Marketplace
from adolfd.engine.context import Ctx
from adolfd.workers.marketing.ad_account import MpDay
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.alerts import marketing_job
from adolfd.workers.marketing.campaigns import CampaignRow, chunks, load_campaigns, pause_point

_UPSERT_STATS = """
INSERT INTO marketing_stats (campaign_id, keyword_id, marketplace, brand_id, stat_date, collected_at, views, clicks,
                             spent, orders, revenue, avg_position)
SELECT u.campaign_id, u.keyword_id, $1, $2, u.stat_date, $3, u.views, u.clicks, u.spent, u.orders, u.revenue,
       u.avg_position
FROM unnest($4::bigint[], $5::bigint[], $6::date[], $7::bigint[], $8::bigint[], $9::numeric[], $10::int[],
            $11::numeric[], $12::numeric[])
     AS u(campaign_id, keyword_id, stat_date, views, clicks, spent, orders, revenue, avg_position)
ON CONFLICT ON CONSTRAINT marketing_stats_unit_day DO UPDATE SET
    collected_at = EXCLUDED.collected_at, views = EXCLUDED.views, clicks = EXCLUDED.clicks, spent = EXCLUDED.spent,
    orders = EXCLUDED.orders, revenue = EXCLUDED.revenue, avg_position = EXCLUDED.avg_position
"""


@marketing_job(queue="default")
async def collect_stats(ctx: Ctx, marketplace: Marketplace) -> dict:
    """Today's and yesterday's figures of every active or paused campaign and its units (seed §7.3.2).
    Safe to repeat: one row per (campaign, unit, day) holds the latest figures."""
    started = ctx.now()
    counts = {"campaigns_fetched": 0, "keywords_fetched": 0, "stats_saved": 0, "errors": 0}
    today = started.date()
    for brand in ctx.brands():
        campaigns = await load_campaigns(ctx.db, today, marketplace=marketplace, brand=brand,
                                         statuses=("active", "paused"))
        if not campaigns:
            continue
        try:
            acc = account(ctx, marketplace, brand)
        except LookupError as exc:
            ctx.log.warning("stats_account_skipped", marketplace=marketplace, brand=brand, reason=str(exc))
            continue
        days = await acc.stats([c.external_id for c in campaigns], today - timedelta(days=1), today)
        saved, units = await save_stats(ctx, marketplace, brand, campaigns, days)
        counts["campaigns_fetched"] += len({d.campaign_id for d in days})
        counts["keywords_fetched"] += units
        counts["stats_saved"] += saved
    return {"marketplace": marketplace, "started_at": started.isoformat(), **counts,
            "finished_at": ctx.now().isoformat(), "status": "completed"}


async def save_stats(ctx: Ctx, marketplace: str, brand: str, campaigns: Sequence[CampaignRow],
                     days: Sequence[MpDay]) -> tuple[int, int]:
    """Upsert the figures (set-based) and refresh each campaign's spend today; returns (rows, units)."""
    by_ext = {c.external_id: c for c in campaigns}
    known = await ctx.db.fetch(
        "SELECT id, campaign_id, external_id FROM marketing_keywords WHERE campaign_id = ANY($1::bigint[])",
        [c.id for c in campaigns])
    keyword_id = {(r["campaign_id"], r["external_id"]): r["id"] for r in known}
    missing: dict[int, set[str]] = defaultdict(set)
    for d in days:
        c = by_ext.get(d.campaign_id)
        if c is not None and d.unit_id is not None and (c.id, d.unit_id) not in keyword_id:
            missing[c.id].add(d.unit_id)
    for cid, unit_ids in missing.items():       # figures of units the hourly sync has not seen yet
        rows = await ctx.db.fetch(
            "INSERT INTO marketing_keywords (campaign_id, external_id, keyword) "
            "SELECT $1, u, u FROM unnest($2::text[]) "
            "AS u ON CONFLICT (campaign_id, external_id) DO UPDATE SET updated_at = now() RETURNING id, external_id",
            cid, sorted(unit_ids))
        keyword_id.update({(cid, r["external_id"]): r["id"] for r in rows})
    rows = [(by_ext[d.campaign_id].id, None if d.unit_id is None else keyword_id[(by_ext[d.campaign_id].id, d.unit_id)],
             d) for d in days if d.campaign_id in by_ext]
    for part in chunks(rows):
        await ctx.db.execute(
            _UPSERT_STATS, marketplace, brand, ctx.now(), [c for c, _, _ in part], [k for _, k, _ in part],
            [d.day for _, _, d in part], [d.views for _, _, d in part], [d.clicks for _, _, d in part],
            [kopecks_to_roubles(d.spent) for _, _, d in part], [d.orders for _, _, d in part],
            [kopecks_to_roubles(d.revenue) for _, _, d in part], [d.avg_position for _, _, d in part])
        await pause_point()
    today = ctx.now().date()
    todays = [(c, d) for c, k, d in rows if k is None and d.day == today]
    if todays:
        await ctx.db.execute(
            "UPDATE marketing_campaigns c SET spent_today = u.spent, revenue_today = u.revenue, spent_date = $1, "
            "updated_at = now() FROM unnest($2::bigint[], $3::numeric[], $4::numeric[]) AS u(id, spent, revenue) "
            "WHERE c.id = u.id", today, [c for c, _ in todays], [kopecks_to_roubles(d.spent) for _, d in todays],
            [kopecks_to_roubles(d.revenue) for _, d in todays])
    return len(rows), len({k for _, k, _ in rows if k is not None})
