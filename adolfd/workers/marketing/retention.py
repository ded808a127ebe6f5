"""Retention of marketing rows (seed 002 §7.3.6): stats, bid history, alerts and daily stats. Alerts are the
module's rows of `marketing_alerts` and of the shared `alerts` table alike: 6 months, resolved or not."""
from __future__ import annotations

from datetime import datetime, timedelta

from adolfd.engine.context import Ctx
from adolfd.process.batched_delete import delete_older
from adolfd.workers.marketing import MODULE_NAME as MODULE
from adolfd.workers.marketing.alerts import marketing_job


@marketing_job(queue="low", destructive="deletes marketing stats, bid history and alerts past their retention")
async def cleanup_old_stats(ctx: Ctx) -> dict:
    """Retention (seed §7.3.6): stats 30 days, bid history 12 months, alerts 6 months, daily stats 24 months;
    deleted in batches of short transactions (`delete_older`), so a stop keeps what went."""
    s = ctx.settings.marketing
    now = ctx.now()
    started = now.isoformat()
    cleaned = {}
    for table, column, cutoff in (
        ("marketing_stats", "collected_at", now - timedelta(days=s.stats_retention_days)),
        ("marketing_bid_history", "created_at", _months_back(now, s.bid_history_retention_months)),
        ("marketing_alerts", "created_at", _months_back(now, s.alerts_retention_months)),
        ("marketing_stats_daily", "stat_date", _months_back(now, s.daily_retention_months).date()),
    ):
        cleaned[table] = await delete_older(ctx.db, table, column, cutoff, stopping=lambda: ctx.stopping)
    cleaned["alerts"] = await delete_older(ctx.db, "alerts", "created_at", _months_back(now, s.alerts_retention_months),
                                           where="AND module = $2", args=(MODULE,), stopping=lambda: ctx.stopping)
    complete = not ctx.stopping          # stopped: what went stays gone, the next night deletes the rest
    ctx.log.info("marketing_cleanup", deleted=sum(cleaned.values()), complete=complete, **cleaned)
    return {"started_at": started, "tables_cleaned": cleaned, "complete": complete,
            "finished_at": ctx.now().isoformat()}


def _months_back(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    day = min(moment.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31,
                           31, 30, 31, 30, 31][month - 1])
    return moment.replace(year=year, month=month, day=day)
