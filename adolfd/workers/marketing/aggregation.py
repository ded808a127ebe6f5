"""Daily and monthly aggregates of the detail stats (seed 002 §7.3.5), upserted by their natural keys."""
from __future__ import annotations

from datetime import date, timedelta

from adolfd.engine.arguments import JobDate, Month, Year
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import BadArguments
from adolfd.workers.marketing.alerts import marketing_job


@marketing_job(queue="low")
async def aggregate_daily_stats(ctx: Ctx, stat_date: JobDate | None = None) -> dict:
    """Yesterday's (or `stat_date`'s) detail rows into `marketing_stats_daily` via the SQL function."""
    day = stat_date or ctx.now().date() - timedelta(days=1)
    rows = await ctx.db.fetchval("SELECT fn_marketing_aggregate_daily_stats($1)", day)
    ctx.log.info("daily_stats_aggregated", date=day.isoformat(), rows=rows)
    return {"date": day.isoformat(), "rows_inserted": rows}


_MONTHLY = """
INSERT INTO marketing_stats_monthly (
    campaign_id, marketplace, brand_id, stat_year, stat_month,
    views, clicks, avg_ctr, spent, avg_cpc,
    orders, revenue, avg_cpo, avg_drr, active_days
)
SELECT
    campaign_id,
    marketplace,
    brand_id,
    EXTRACT(YEAR FROM stat_date)::INT,
    EXTRACT(MONTH FROM stat_date)::INT,
    SUM(views),
    SUM(clicks),
    CASE WHEN SUM(views) > 0
         THEN ROUND(SUM(clicks)::NUMERIC / SUM(views) * 100, 2)
         ELSE 0 END,
    SUM(spent),
    CASE WHEN SUM(clicks) > 0
         THEN ROUND(SUM(spent) / SUM(clicks), 2)
         ELSE 0 END,
    SUM(orders),
    SUM(revenue),
    CASE WHEN SUM(orders) > 0
         THEN ROUND(SUM(spent) / SUM(orders), 2)
         ELSE 0 END,
    CASE WHEN SUM(revenue) > 0
         THEN ROUND(SUM(spent) / SUM(revenue) * 100, 2)
         ELSE 0 END,
    COUNT(DISTINCT stat_date)
FROM marketing_stats_daily
WHERE stat_date BETWEEN $1 AND $2
  AND keyword_id IS NULL
GROUP BY campaign_id, marketplace, brand_id,
         EXTRACT(YEAR FROM stat_date), EXTRACT(MONTH FROM stat_date)
ON CONFLICT (campaign_id, stat_year, stat_month) DO UPDATE SET
    views = EXCLUDED.views,
    clicks = EXCLUDED.clicks,
    avg_ctr = EXCLUDED.avg_ctr,
    spent = EXCLUDED.spent,
    avg_cpc = EXCLUDED.avg_cpc,
    orders = EXCLUDED.orders,
    revenue = EXCLUDED.revenue,
    avg_cpo = EXCLUDED.avg_cpo,
    avg_drr = EXCLUDED.avg_drr,
    active_days = EXCLUDED.active_days
"""


@marketing_job(queue="low")
async def aggregate_monthly_stats(ctx: Ctx, year: Year | None = None, month: Month | None = None) -> dict:
    """The previous month (or year/month) from the daily rows: the seed's SQL (§7.3.5), which on a rerun also
    refreshes the average CPC, CPO and DRR (the seed's update list left them stale)."""
    if year is not None and month is not None:
        first = date(year, month, 1)
    elif year is None and month is None:
        first = (ctx.now().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    else:
        raise BadArguments("give both year and month, or neither")
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    status = await ctx.db.execute(_MONTHLY, first, last)
    rows = int(status.split()[-1])
    ctx.log.info("monthly_stats_aggregated", month=f"{first:%Y-%m}", rows=rows)
    return {"year": first.year, "month": first.month, "rows_inserted": rows}
