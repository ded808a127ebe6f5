"""schema.sql applied to a database from before the reputation columns it adds: old rows keep their meaning."""
from __future__ import annotations

import asyncpg
from adolfd.process import db as dbmod


async def test_upgrade_counts_earlier_attempts_as_doubtful_and_runs_twice(empty_database):
    conn = await asyncpg.connect(empty_database)
    try:
        await dbmod.migrate(conn)
        for column in ("doubtful_attempts", "guard_reason"):              # the database as it was before
            await conn.execute(f"ALTER TABLE reputation_responses DROP COLUMN {column}")
        await conn.execute("ALTER TABLE reputation_items DROP COLUMN llm_deferrals")
        await conn.execute("ALTER TABLE reputation_poll_cursors DROP COLUMN swept_at")
        item = await conn.fetchval("INSERT INTO reputation_items (platform, item_type, external_id, brand_id, "
                                   "status) VALUES ('wb', 'review', 'x1', 'ohana_kids', 'failed') RETURNING id")
        await conn.execute("INSERT INTO reputation_responses (item_id, draft_text, generated_by, "
                           "publish_retry_count) VALUES ($1, 'Спасибо!', 'offline', 2)", item)
        await dbmod.migrate(conn)
        await dbmod.migrate(conn)                                             # every start applies it again
        assert await conn.fetchval("SELECT doubtful_attempts FROM reputation_responses") == 2
        assert await conn.fetchval("SELECT llm_deferrals FROM reputation_items") == 0
        fresh = await conn.fetchval("INSERT INTO reputation_items (platform, item_type, external_id, brand_id) "
                                    "VALUES ('wb', 'review', 'x2', 'ohana_kids') RETURNING id")
        await conn.execute("INSERT INTO reputation_responses (item_id, draft_text, generated_by) "
                           "VALUES ($1, 'Спасибо!', 'offline')", fresh)
        assert await conn.fetchval("SELECT doubtful_attempts FROM reputation_responses WHERE item_id = $1",
                                   fresh) == 0
    finally:
        await conn.close()
