"""CSV reports of daily campaign figures (seed 002 §7.1 `generate_report`)."""
from __future__ import annotations

import csv
import os
from pathlib import Path

from adolfd.engine.arguments import BrandId, Id, JobDate
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import BadArguments
from adolfd.workers.marketing.alerts import marketing_job

REPORT_COLUMNS = ("stat_date", "brand_id", "marketplace", "campaign_id", "campaign", "views", "clicks", "ctr",
                  "spent", "cpc", "orders", "revenue", "cpo", "drr")


@marketing_job(queue="low", timeout=600)
async def generate_report(ctx: Ctx, date_from: JobDate, date_to: JobDate, campaign_id: Id | None = None,
                          brand_id: BrandId | None = None) -> dict:
    """A CSV of daily campaign figures for one campaign or one brand over a period; the path is in the result.
    The same request writes the same file (replaced atomically)."""
    if date_to < date_from:
        raise BadArguments("date_to is before date_from")
    if (campaign_id is None) == (brand_id is None):
        raise BadArguments("give campaign_id or brand_id (one of them)")
    if brand_id is not None:
        ctx.brands(brand_id)
    rows = await ctx.db.fetch(
        "SELECT d.stat_date, d.brand_id, d.marketplace, d.campaign_id, c.name AS campaign, d.views, d.clicks, d.ctr, "
        "d.spent, d.cpc, d.orders, d.revenue, d.cpo, d.drr FROM marketing_stats_daily d "
        "JOIN marketing_campaigns c ON c.id = d.campaign_id WHERE d.keyword_id IS NULL "
        "AND d.stat_date BETWEEN $1 AND $2 AND ($3::bigint IS NULL OR d.campaign_id = $3) "
        "AND ($4::text IS NULL OR d.brand_id = $4) ORDER BY d.stat_date, d.campaign_id",
        date_from, date_to, campaign_id, brand_id)
    scope = f"campaign{campaign_id}" if campaign_id is not None else brand_id
    folder = Path(ctx.settings.report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"marketing_{scope}_{date_from:%Y%m%d}_{date_to:%Y%m%d}.csv"
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    with partial.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(REPORT_COLUMNS)
        for r in rows:
            writer.writerow([r[c] for c in REPORT_COLUMNS])
    partial.replace(path)
    return {"path": str(path), "rows": len(rows), "date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
