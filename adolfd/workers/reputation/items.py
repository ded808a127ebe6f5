"""Reading one reputation item with its reply (seed 003 §7.3), for analysis, approval and publishing."""
from __future__ import annotations

import asyncpg

from adolfd.domain.reputation.review_analysis import FeedbackItem

ITEM = """
SELECT i.*, r.draft_text, r.final_text, r.generation, r.publish_retry_count, r.publish_attempt,
       r.publish_started_at, r.doubtful_attempts, r.guard_reason
FROM reputation_items i LEFT JOIN reputation_responses r ON r.item_id = i.id WHERE i.id = $1
"""


def feedback_item(row: asyncpg.Record) -> FeedbackItem:
    return FeedbackItem(platform=row["platform"], item_type=row["item_type"], external_id=row["external_id"],
                        text=row["text"], rating=row["rating"], pros=row["pros"], cons=row["cons"],
                        author=row["author"], product_name=row["product_name"], brand_id=row["brand_id"])


async def _item(db: asyncpg.Pool | asyncpg.Connection, item_id: int) -> asyncpg.Record:
    row = await db.fetchrow(ITEM, item_id)
    if row is None:
        raise LookupError(f"no reputation item {item_id}")
    return row
