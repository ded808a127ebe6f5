"""The frequent reputation sweep: work cut by a dead worker, a drain, a database outage or a Redis loss resumes
within minutes, not at the hourly `retry_failed_publish` (which keeps the seed's rule for `failed` items).

PostgreSQL is the record of every item's stage; the queued jobs that move it on live in Redis and can be lost
(Redis restarted without persistence, a job failed for good while PostgreSQL was down). Every two minutes the
sweep finds items that have sat in a stage longer than `resume_after_seconds` with no job of theirs waiting
in Redis, and enqueues the stage's job: `new` → analyze_item, `analyzed` → generate_response, `approved` →
send_response, `publishing` past its lease → send_response. Every one of those jobs is safe to run twice (it
acts only on an item still in its stage; `claim_publish` lets one publish), and each sweep job id names the
item's state and the hour, so an item is resumed at most once an hour per state.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from arq.constants import job_key_prefix

from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.keys import (
    REPUTATION_ANALYZE_JOB,
    REPUTATION_GENERATE_JOB,
    REPUTATION_RESUME_JOB,
    REPUTATION_SEND_APPROVED_JOB,
)

_STUCK = """
SELECT i.id, i.status, r.generation, r.publish_retry_count AS tries, i.updated_at,
       r.publish_started_at, r.approved_at
FROM reputation_items i LEFT JOIN reputation_responses r ON r.item_id = i.id
WHERE (i.status IN ('new', 'analyzed') AND i.updated_at <= $1)
   OR (i.status = 'approved' AND r.approved_at <= $1)
   OR (i.status = 'publishing' AND r.publish_started_at <= $2)
ORDER BY i.id
LIMIT 2000
"""

# stage → (job, the job id its first enqueue used)
_STAGES: dict[str, tuple[str, Callable[[Any], str]]] = {
    "new": ("reputation.analyze_item", lambda r: REPUTATION_ANALYZE_JOB.format(item_id=r["id"])),
    "analyzed": ("reputation.generate_response", lambda r: REPUTATION_GENERATE_JOB.format(item_id=r["id"])),
    "approved": ("reputation.send_response",
                 lambda r: REPUTATION_SEND_APPROVED_JOB.format(item_id=r["id"], generation=r["generation"])),
    "publishing": ("reputation.send_response",
                   lambda r: REPUTATION_SEND_APPROVED_JOB.format(item_id=r["id"], generation=r["generation"])),
}


@job(queue="default")
async def resume_stuck_items(ctx: Ctx) -> dict:
    """Every two minutes: one job for each item stuck in a stage with nothing queued for it (module docstring)."""
    rep = ctx.settings.reputation
    now = ctx.now()
    rows = await ctx.db.fetch(_STUCK, now - timedelta(seconds=rep.resume_after_seconds),
                              now - timedelta(seconds=rep.publish_lease_seconds))
    resumed: dict[str, list[int]] = {}
    waiting = 0
    for r in rows:
        name, first_id = _STAGES[r["status"]]
        if await ctx.redis.exists(job_key_prefix + first_id(r)):
            waiting += 1               # its own job is still queued or retrying
            continue
        state = f"{r['status']}:g{r['generation']}:t{r['tries']}:{int(r['updated_at'].timestamp())}"
        if await ctx.enqueue(name, _job_id=REPUTATION_RESUME_JOB.format(item_id=r["id"], state=state,
                                                                             hour=f"{now:%Y%m%d%H}"), item_id=r["id"]):
            resumed.setdefault(r["status"], []).append(r["id"])
    if resumed:
        ctx.log.warning("reputation_items_resumed", **{stage: ids for stage, ids in resumed.items()})
    return {"status": "ok", "stuck": len(rows), "waiting": waiting,
            "resumed": {stage: len(ids) for stage, ids in resumed.items()},
            "item_ids": sorted(i for ids in resumed.values() for i in ids)}
