"""Recommendations as operators see them (seed 002 §7.3.4): listed per campaign, accepted or dismissed with who
decided. Accepting advice that names a bid direction records one bid change per keyword and applies each through
`apply_bid_change` (the normal exactly-once path); the rule is `adolfd.domain.marketing.recommendation_actions`."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import structlog
from arq.connections import ArqRedis

from adolfd.domain.marketing.recommendation_actions import KeywordBid, accepted_bids
from adolfd.engine.enqueue import enqueue
from adolfd.keys import MARKETING_BID_CHANGE_JOB
from adolfd.workers.marketing.bid_changes import request_bid_change
from adolfd.workers.marketing.campaigns import _k

log = structlog.get_logger(__name__)

_LIST = """
SELECT r.id, r.campaign_id, c.name AS campaign, r.rec_date, r.kind, r.priority, r.text, r.provider, r.status,
       r.decided_by, r.decided_at, r.bid_changes
FROM marketing_recommendations r JOIN marketing_campaigns c ON c.id = r.campaign_id
WHERE ($1::bigint IS NULL OR r.campaign_id = $1) AND ($2::text IS NULL OR r.status = $2)
ORDER BY r.rec_date DESC, array_position(ARRAY['high','medium','low'], r.priority), r.id
LIMIT $3
"""


class RecommendationRefused(ValueError):
    """Unknown recommendation, or one already decided; nothing was changed."""


async def list_recommendations(db: asyncpg.Pool, *, campaign_id: int | None = None, status: str | None = "open",
                               limit: int = 50) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch(_LIST, campaign_id, status, limit)]


async def decide(db: asyncpg.Pool, redis: ArqRedis, rec_id: int, *, accept: bool, by: str,
                 now: datetime) -> dict[str, Any]:
    """Accept or dismiss an open recommendation. Accepting records its bid changes (request ids `rec:<id>:<kw>`,
    so a repeat records nothing new) and enqueues `apply_bid_change` for each."""
    async with db.acquire() as conn, conn.transaction():
        rec = await conn.fetchrow(
            "SELECT r.id, r.kind, r.status, r.campaign_id, c.max_bid FROM marketing_recommendations r "
            "JOIN marketing_campaigns c ON c.id = r.campaign_id WHERE r.id = $1 FOR UPDATE OF r", rec_id)
        if rec is None:
            raise RecommendationRefused(f"no recommendation {rec_id} (`adolfd recommendations` lists them)")
        if rec["status"] != "open":
            raise RecommendationRefused(f"recommendation {rec_id} is already {rec['status']}")
        changes: list[int] = []
        if accept:
            keywords = [KeywordBid(r["id"], _k(r["current_bid"]), _k(r["min_bid"])) for r in await conn.fetch(
                "SELECT id, current_bid, min_bid FROM marketing_keywords WHERE campaign_id = $1 AND status = 'active' "
                "AND min_bid IS NOT NULL ORDER BY id", rec["campaign_id"])]      # minimum unread: left alone
            for keyword_id, bid in accepted_bids(rec["kind"], keywords, _k(rec["max_bid"])).items():
                changes.append(await request_bid_change(conn, keyword_id, f"{bid / 100:.2f}",
                                                        request_id=f"rec:{rec_id}:{keyword_id}"))
        await conn.execute("UPDATE marketing_recommendations SET status = $2, decided_by = $3, decided_at = $4, "
                           "bid_changes = $5 WHERE id = $1", rec_id, "accepted" if accept else "dismissed", by, now,
                           changes)
    for change in changes:
        await enqueue(redis, "marketing.apply_bid_change", {"change_id": change},
                      job_id=MARKETING_BID_CHANGE_JOB.format(change=change))
    log.info("recommendation_decided", recommendation=rec_id, accepted=accept, by=by, bid_changes=len(changes))
    return {"recommendation_id": rec_id, "status": "accepted" if accept else "dismissed", "by": by,
            "bid_changes": changes}
