"""The reputation agents on the Office Dashboard (seed 003 Appendix B.1, B.4, B.6): their heartbeat and figures."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from adolfd.admin.office import OfficeAgent, OfficeReporter
from adolfd.domain.reputation.replies import WAITING
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job

# seed 003 Appendix B.1
AGENTS = {
    "wb": OfficeAgent("reputation_wb", "reputation", "WB отзывы", 60000, 1.0),
    "ozon": OfficeAgent("reputation_ozon", "reputation", "Ozon отзывы", 60000, 1.0),
    "ym": OfficeAgent("reputation_ym", "reputation", "YM отзывы", 60000, 1.0),
}


def reporter(ctx: Ctx, platform: str) -> OfficeReporter:
    return OfficeReporter(AGENTS[platform], ctx.redis, ctx.now, ctx.settings.reputation.office_ttl_seconds)


async def office_metrics(db: asyncpg.Pool, platform: str, now: datetime, tz: str) -> dict[str, Any]:
    """Appendix B.6: reviews stored today, average minutes from the customer's post to our reply (published
    today), items waiting in the queue. `now` is in the configured timezone (`ctx.now()`)."""
    row = await db.fetchrow("""
        SELECT count(*) FILTER (WHERE item_type = 'review' AND (created_at AT TIME ZONE $3)::date = $2)
                   AS reviews_today,
               avg(extract(epoch FROM published_at - coalesce(source_created_at, created_at)) / 60)
                   FILTER (WHERE status = 'published' AND (published_at AT TIME ZONE $3)::date = $2) AS avg_min,
               count(*) FILTER (WHERE status = ANY($4::text[])) AS queue_size
        FROM reputation_items WHERE platform = $1
    """, platform, now.date(), tz, [s.value for s in WAITING])
    avg_min = row["avg_min"]
    return {"reviews_today": row["reviews_today"],
            "avg_response_min": round(float(avg_min), 1) if avg_min is not None else None,
            "queue_size": row["queue_size"]}


@job(queue="default")
async def office_heartbeat(ctx: Ctx) -> dict:
    """Обновление статуса агентов в Office Dashboard (seed 003 Appendix B.4, every minute)."""
    for platform in AGENTS:
        await reporter(ctx, platform).heartbeat()
    return {"success": True, "agents": len(AGENTS)}
