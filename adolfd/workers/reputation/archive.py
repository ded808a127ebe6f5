"""Archiving answered and skipped items after a year (seed 003 §7.3 Служебные Tasks, 02:00)."""
from __future__ import annotations

from datetime import timedelta

from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job

ARCHIVE_BATCH = 5000


ARCHIVE = """
WITH old AS (
    SELECT id FROM reputation_items
    WHERE created_at < $1 AND status IN ('published', 'skipped') ORDER BY id LIMIT $2 FOR UPDATE
), reply AS (
    SELECT r.item_id, to_jsonb(r) AS response FROM reputation_responses r JOIN old ON old.id = r.item_id
), moved AS (
    DELETE FROM reputation_items i USING old WHERE i.id = old.id RETURNING i.*
)
INSERT INTO reputation_items_archive (id, platform, item_type, external_id, brand_id, sku, product_name, author,
    rating, text, pros, cons, source_created_at, raw, status, ai_analysis, analyzed_at, created_at, updated_at,
    published_at, response, archived_at)
SELECT m.id, m.platform, m.item_type, m.external_id, m.brand_id, m.sku, m.product_name, m.author, m.rating, m.text,
       m.pros, m.cons, m.source_created_at, m.raw, m.status, m.ai_analysis, m.analyzed_at, m.created_at,
       m.updated_at, m.published_at, reply.response, $3
FROM moved m LEFT JOIN reply ON reply.item_id = m.id
ON CONFLICT (id) DO NOTHING
"""


@job(queue="default")
async def archive_old_items(ctx: Ctx) -> dict:
    """Архивация (seed 003 §7.3, 02:00): published or skipped items older than 365 days, with their reply."""
    cutoff = ctx.now() - timedelta(days=ctx.settings.reputation.archive_after_days)
    archived = 0
    while True:
        status = await ctx.db.execute(ARCHIVE, cutoff, ARCHIVE_BATCH, ctx.now())
        moved = int(status.split()[-1])
        archived += moved
        if moved < ARCHIVE_BATCH:
            return {"status": "ok", "archived": archived, "cutoff": cutoff.isoformat()}
