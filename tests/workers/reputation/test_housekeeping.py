"""Daily analytics (01:00) and the archive (02:00) of seed 003 §7.3."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 10, 1, 0, tzinfo=MSK)


async def _item(db, n: int, *, platform="wb", kind="review", brand="ohana_market", rating=5, sentiment="positive",
                status="pending_review", created: datetime = NOW, with_reply: bool = True) -> int:
    item_id = await db.fetchval(
        "INSERT INTO reputation_items (platform, item_type, external_id, brand_id, rating, text, status, ai_analysis, "
        "created_at, published_at) VALUES ($1, $2, $3, $4, $5, 'текст', $6, $7, $8, "
        "CASE WHEN $6 = 'published' THEN $8::timestamptz END) RETURNING id",
        platform, kind, f"x{n}", brand, rating, status, {"sentiment": sentiment, "topics": [], "escalate": False,
                                                          "reasons": [], "provider": "offline"}, created)
    if with_reply:
        await db.execute("INSERT INTO reputation_responses (item_id, draft_text, generated_by) "
                         "VALUES ($1, $2, 'offline')",
                         item_id, f"Спасибо {n}")
    return item_id


async def test_daily_analytics_per_platform_and_brand(res, clock, run_job):
    clock.set(NOW)
    yesterday = NOW - timedelta(hours=12)                      # 9 March, Moscow
    await _item(res.db, 1, rating=5, status="published", created=yesterday)
    await _item(res.db, 2, rating=1, sentiment="negative", created=yesterday)
    await _item(res.db, 3, kind="question", rating=None, sentiment="neutral", created=yesterday)
    await _item(res.db, 4, platform="ozon", brand="ohana_kids", rating=4, created=yesterday)
    await _item(res.db, 5, created=NOW - timedelta(minutes=30))           # 00:30 today: not yesterday
    await _item(res.db, 6, created=datetime(2026, 3, 8, 23, 59, tzinfo=MSK))  # the day before yesterday
    out = await run_job("reputation.calculate_daily_analytics")
    assert out["result"] == {"status": "ok", "date": "2026-03-09", "rows": 2}
    rows = {(r["platform"], r["brand_id"]): r for r in await res.db.fetch("SELECT * FROM reputation_analytics")}
    wb = rows[("wb", "ohana_market")]
    assert (wb["total_items"], wb["reviews_count"], wb["questions_count"]) == (3, 2, 1)
    assert (wb["positive_count"], wb["negative_count"], wb["published_count"]) == (1, 1, 1)
    assert float(wb["avg_rating"]) == 3.0
    assert rows[("ozon", "ohana_kids")]["total_items"] == 1

    await res.db.execute("UPDATE reputation_items SET status = 'published' WHERE external_id = 'x2'")
    await run_job("reputation.calculate_daily_analytics")                # a rerun overwrites, never duplicates
    assert await res.db.fetchval("SELECT count(*) FROM reputation_analytics") == 2
    assert await res.db.fetchval("SELECT published_count FROM reputation_analytics WHERE platform = 'wb'") == 2


async def test_archive_moves_old_published_and_skipped_items_with_their_reply(res, clock, run_job):
    clock.set(NOW)
    old = NOW - timedelta(days=366)
    moved = [await _item(res.db, 1, status="published", created=old),
             await _item(res.db, 2, status="skipped", created=old, with_reply=False)]
    kept = [await _item(res.db, 3, status="pending_review", created=old),
            await _item(res.db, 4, status="failed", created=old),
            await _item(res.db, 5, status="published", created=NOW - timedelta(days=364))]
    out = await run_job("reputation.archive_old_items")
    assert out["result"]["archived"] == 2
    assert sorted(r["id"] for r in await res.db.fetch("SELECT id FROM reputation_items")) == sorted(kept)
    archive = {r["id"]: r for r in await res.db.fetch("SELECT * FROM reputation_items_archive")}
    assert sorted(archive) == sorted(moved)
    assert archive[moved[0]]["response"]["draft_text"] == "Спасибо 1"
    assert archive[moved[0]]["status"] == "published" and archive[moved[0]]["external_id"] == "x1"
    assert archive[moved[1]]["response"] is None
    assert await res.db.fetchval("SELECT count(*) FROM reputation_responses WHERE item_id = ANY($1::bigint[])",
                                 moved) == 0
    again = await run_job("reputation.archive_old_items")
    assert again["result"]["archived"] == 0
    assert await res.db.fetchval("SELECT count(*) FROM reputation_items_archive") == 2
