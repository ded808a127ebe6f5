"""Retention of logistic rows (seed 000 §8.4.8) and of the 1C stock history (seed 000 §8.4.9)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import PositiveInt

from adolfd.engine.arguments import between
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.workers.logistic.inputs import _rules


@job(queue="logic", manual=True, destructive="deletes logistic history older than retention_days (default 90)")
async def cleanup_old_data(ctx: Ctx, retention_days: Annotated[int, between(90, 3650, "days")] | None = None) -> dict:
    """Logistic rows older than the retention (90 days): FBO snapshots, 1C history, resolved alerts,
    completed or cancelled tasks, via the SQL function logistic_cleanup_old_data (seed 000 §8.4.8)."""
    days = retention_days or _rules(ctx).retention_days
    row = await ctx.db.fetchrow("SELECT * FROM logistic_cleanup_old_data($1, $2)", days, ctx.now())
    result = dict(row)
    ctx.log.info("cleanup_old_data_completed", retention_days=days, **result)
    return {"status": "success", "retention_days": days, **result}


@job(queue="brain")
async def cleanup_stock_history(ctx: Ctx, keep_days: PositiveInt = 90) -> dict:
    """logistic_stock_history rows older than `keep_days` (seed 000 §8.4.9)."""
    cutoff = ctx.now().date() - timedelta(days=keep_days)
    status = await ctx.db.execute("DELETE FROM logistic_stock_history WHERE stock_date < $1", cutoff)
    deleted = int(status.split()[-1])
    if deleted:
        ctx.log.info("cleanup_stock_history_completed", deleted_rows=deleted)
    return {"status": "success", "deleted_rows": deleted}
