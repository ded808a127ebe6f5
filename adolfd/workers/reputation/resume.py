"""The frequent publishing sweep: replies cut by a drain, a dead worker or a database outage resume within
minutes, not at the hourly `retry_failed_publish` (which keeps the seed's rule for `failed` items).

It finds approved replies whose `send_response` never ran (lost with a Redis loss, or failed for good while
PostgreSQL was down) and `publishing` claims past their lease, and enqueues one `send_response` for each.
A duplicate job is harmless: `claim_publish` lets exactly one of them publish.
"""
from __future__ import annotations

from datetime import timedelta

from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job

_STUCK = """
SELECT i.id, i.status, r.publish_retry_count AS tries,
       CASE WHEN i.status = 'publishing' THEN r.publish_started_at ELSE r.approved_at END AS since
FROM reputation_items i JOIN reputation_responses r ON r.item_id = i.id
WHERE (i.status = 'publishing' AND r.publish_started_at <= $1)
   OR (i.status = 'approved' AND r.approved_at <= $2)
ORDER BY i.id
LIMIT 1000
"""


@job(queue="default")
async def resume_publishing(ctx: Ctx) -> dict:
    """Every two minutes: one `send_response` for each reply stuck `approved` or `publishing` (module docstring).
    The job id names the item's state, so a sweep repeated before that job ran enqueues nothing new."""
    rep = ctx.settings.reputation
    now = ctx.now()
    rows = await ctx.db.fetch(_STUCK, now - timedelta(seconds=rep.publish_lease_seconds),
                              now - timedelta(seconds=rep.resume_approved_after_seconds))
    enqueued = []
    for r in rows:
        state = f"{r['status']}:t{r['tries']}:{int(r['since'].timestamp())}"
        if await ctx.enqueue("reputation.send_response", _job_id=f"reputation:resume:{r['id']}:{state}",
                             item_id=r["id"]):
            enqueued.append(r["id"])
    if enqueued:
        ctx.log.warning("publishing_resumed", item_ids=enqueued)
    return {"status": "ok", "stuck": len(rows), "enqueued": len(enqueued), "item_ids": enqueued}
