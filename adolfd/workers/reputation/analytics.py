"""Daily reputation analytics per platform and brand (seed 003 §7.3 Служебные Tasks, 01:00)."""
from __future__ import annotations

from datetime import timedelta

from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job

ANALYTICS = """
INSERT INTO reputation_analytics (date, platform, brand_id, total_items, reviews_count, questions_count,
                                  positive_count, negative_count, avg_rating, published_count, calculated_at)
SELECT $1, platform, brand_id, count(*),
       count(*) FILTER (WHERE item_type = 'review'), count(*) FILTER (WHERE item_type = 'question'),
       count(*) FILTER (WHERE ai_analysis->>'sentiment' = 'positive'),
       count(*) FILTER (WHERE ai_analysis->>'sentiment' = 'negative'),
       round(avg(rating), 2), count(*) FILTER (WHERE status = 'published'), $4
FROM reputation_items
WHERE (created_at AT TIME ZONE $2)::date = $1 AND brand_id = ANY($3::text[])
GROUP BY platform, brand_id
ON CONFLICT (date, platform, brand_id) DO UPDATE SET
    total_items = EXCLUDED.total_items, reviews_count = EXCLUDED.reviews_count,
    questions_count = EXCLUDED.questions_count, positive_count = EXCLUDED.positive_count,
    negative_count = EXCLUDED.negative_count, avg_rating = EXCLUDED.avg_rating,
    published_count = EXCLUDED.published_count, calculated_at = EXCLUDED.calculated_at
"""


@job(queue="default")
async def calculate_daily_analytics(ctx: Ctx) -> dict:
    """Расчёт аналитики (seed 003 §7.3, 01:00): yesterday (Moscow) per platform and brand; a rerun overwrites."""
    yesterday = ctx.now().date() - timedelta(days=1)
    status = await ctx.db.execute(ANALYTICS, yesterday, ctx.settings.timezone, ctx.brands(), ctx.now())
    return {"status": "ok", "date": yesterday.isoformat(), "rows": int(status.split()[-1])}
