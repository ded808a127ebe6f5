"""Competitor priorities at 04:00 (seed 001 §7.7): the seed's formula (`domain.watcher.priorities`) over the
last 30 days, with every input read in four set-based queries instead of four per competitor. Past its soft
limit (1800 s, the cron row's) the job stops, keeps what it has saved and says so (the seed's
SoftTimeLimitExceeded); the hard limit, 2100 s, cancels it. Safe to run twice: the same data gives the same scores."""
from __future__ import annotations

from datetime import timedelta

from adolfd.domain.watcher.priorities import (
    WINDOW_DAYS,
    PriorityInputs,
    competitor_priority,
    count_price_changes,
    price_difference_pct,
)
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job

CHUNK = 500

_INPUTS = """
SELECT c.id, c.priority,
       coalesce((SELECT array_agg(h.current_price ORDER BY h.parsed_at, h.id) FROM watcher_price_history h
                 WHERE h.competitor_id = c.id AND h.parsed_at >= $2 AND h.current_price IS NOT NULL),
                '{}') AS prices,
       (SELECT avg(h.discount_percent) FROM watcher_price_history h
         WHERE h.competitor_id = c.id AND h.parsed_at >= $2 AND h.discount_percent IS NOT NULL) AS avg_discount,
       (SELECT h.current_price FROM watcher_price_history h WHERE h.competitor_id = c.id
         AND h.current_price IS NOT NULL ORDER BY h.parsed_at DESC, h.id DESC LIMIT 1) AS their_price,
       (SELECT o.current_price FROM watcher_price_history o WHERE o.competitor_id IS NULL AND o.sku = c.our_sku
         AND o.marketplace = c.marketplace AND o.current_price IS NOT NULL
         ORDER BY o.parsed_at DESC, o.id DESC LIMIT 1) AS our_price,
       (SELECT count(*) FROM watcher_alerts a WHERE a.competitor_id = c.id AND a.alert_type = 'dumping_detected'
         AND a.created_at >= $2) AS dumping
FROM watcher_competitors c WHERE c.is_active AND c.id = ANY($1::bigint[])
"""


@job(queue="heavy", manual=True)
async def calculate_priorities(ctx: Ctx) -> dict:
    """Priority 0–100 of every active competitor (seed 001 §7.7)."""
    since = ctx.now() - timedelta(days=WINDOW_DAYS)
    ids = [r["id"] for r in await ctx.db.fetch("SELECT id FROM watcher_competitors WHERE is_active ORDER BY id")]
    updated = done = 0
    for i in range(0, len(ids), CHUNK):
        if ctx.past_soft_limit:
            ctx.log.warning("watcher_priorities_soft_limit", done=done, total=len(ids))
            return {"status": "soft_time_limit", "updated_count": updated, "done": done, "total_competitors": len(ids)}
        rows = await ctx.db.fetch(_INPUTS, ids[i:i + CHUNK], since)
        scores = {r["id"]: competitor_priority(PriorityInputs(
            count_price_changes(list(r["prices"])), r["avg_discount"],
            price_difference_pct(r["their_price"], r["our_price"]), r["dumping"])) for r in rows}
        changed = [(cid, s) for cid, s in scores.items() if s != next(r["priority"] for r in rows if r["id"] == cid)]
        if changed:
            await ctx.db.execute("UPDATE watcher_competitors c SET priority = u.p FROM unnest($1::bigint[], "
                                 "$2::int[]) AS u(id, p) WHERE c.id = u.id",
                                 [c for c, _ in changed], [s for _, s in changed])
        updated += len(changed)
        done += len(rows)
    return {"status": "success", "updated_count": updated, "total_competitors": len(ids)}
