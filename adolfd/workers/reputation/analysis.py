"""AI analysis of an item and drafting its reply (seed 003 §7.3 AI Tasks); auto-approval follows DOMAIN.md.

An LLM outage must neither strand items nor page once per item. A call that still fails on the job's last try does
not fail the job: the item stays where it was (`new`, or `analyzed` without a draft), its `llm_deferrals` grows, one
`REPUTATION_LLM_OUTAGE` alert per stage (analysis, drafting) is open for the whole outage, and the job returns
`deferred`. Its result then holds the job id it ran under, so the next poll queues the item again under `<job
id>:r<deferrals>` (`queue_stalled`); the first success closes the alert."""
from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from adolfd.admin.alerts import resolve_alerts
from adolfd.clients.errors import ApiError
from adolfd.domain.reputation.replies import REGENERATABLE, ItemStatus, should_auto_approve
from adolfd.domain.reputation.reply_guard import check_reply
from adolfd.domain.reputation.review_analysis import Analysis
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.engine.retry import RetryPolicy
from adolfd.keys import REPUTATION_ANALYZE_JOB, REPUTATION_GENERATE_JOB
from adolfd.workers.reputation.approval import approve, escalation_key
from adolfd.workers.reputation.items import _item, feedback_item
from adolfd.workers.reputation.resources import TITLES, provider

AI_RETRY = RetryPolicy(tries=3, delay=60)        # seed §7.3: max_retries=3, countdown=60
OUTAGE_KEY = "llm-outage:{stage}"                 # one open alert per LLM outage and stage (analyze, generate)
T = TypeVar("T")


def job_id_for(kind: str, item_id: int, deferrals: int) -> str:
    """`reputation:analyze:42` the first time; `reputation:analyze:42:r2` after two deferrals (a fresh id)."""
    template = REPUTATION_ANALYZE_JOB if kind == "analyze" else REPUTATION_GENERATE_JOB
    base = template.format(item_id=item_id)
    return base if deferrals == 0 else f"{base}:r{deferrals}"


async def _llm(ctx: Ctx, item_id: int, stage: str, call: Awaitable[T]) -> T | None:
    """The LLM's answer; None when it failed on the job's last try and the item was deferred (module docstring)."""
    try:
        answer = await call
    except ApiError as exc:
        tries = ctx.spec.retry.tries if ctx.spec else AI_RETRY.tries
        if ctx.job_try < tries:
            raise
        deferrals = await ctx.db.fetchval("UPDATE reputation_items SET llm_deferrals = llm_deferrals + 1 "
                                          "WHERE id = $1 RETURNING llm_deferrals", item_id)
        ctx.log.warning("llm_deferred", item_id=item_id, stage=stage, deferrals=deferrals, error=str(exc)[:300])
        waiting = await ctx.db.fetchval("SELECT count(*) FROM reputation_items WHERE llm_deferrals > 0 "
                                        "AND (status = 'new' OR status = 'analyzed')")
        await ctx.alert("REPUTATION_LLM_OUTAGE", "high",
                        f"the LLM fails ({str(exc)[:200]}); reviews wait and resume by themselves when it is back",
                        dedup_key=OUTAGE_KEY.format(stage=stage), stage=stage, first_item_id=item_id,
                        waiting=waiting)
        return None
    await resolve_alerts(ctx.db, module="reputation", dedup_keys=[OUTAGE_KEY.format(stage=stage)])
    return answer


async def queue_stalled(ctx: Ctx, platform: str, item_type: str, brand: str, limit: int = 1000) -> int:
    """Queue analysis of `new` items and drafting of `analyzed` ones without a draft; a job already queued, running
    or finished under the same id is not queued twice (ARQ), so this is safe on every poll."""
    rows = await ctx.db.fetch("""
        SELECT i.id, i.status, i.llm_deferrals FROM reputation_items i
        LEFT JOIN reputation_responses r ON r.item_id = i.id
        WHERE i.platform = $1 AND i.item_type = $2 AND i.brand_id = $3
          AND (i.status = 'new' OR (i.status = 'analyzed' AND r.item_id IS NULL))
        ORDER BY i.id LIMIT $4""", platform, item_type, brand, limit)
    queued = 0
    for r in rows:
        job, kind = (("reputation.analyze_item", "analyze") if r["status"] == ItemStatus.NEW
                     else ("reputation.generate_response", "generate"))
        queued += await ctx.enqueue(job, _job_id=job_id_for(kind, r["id"], r["llm_deferrals"]),
                                    item_id=r["id"]) is not None
    return queued


async def _escalate(ctx: Ctx, row: Any, analysis: Analysis) -> None:
    """DOMAIN.md: an escalated item needs a person now — an alert (high for safety), and it leads the review queue
    (`approval.list_items`). Approving or skipping the item closes the alert."""
    stars = f" {row['rating']}★" if row["rating"] is not None else ""
    excerpt = " ".join(feedback_item(row).full_text.split())[:160]
    await ctx.alert("REPUTATION_ESCALATION", "high" if "safety" in analysis.reasons else "warning",
                    f"{TITLES[row['platform']]} {row['item_type']} #{row['id']}{stars} needs a person "
                    f"({', '.join(analysis.reasons) or 'model'}): «{excerpt}»",
                    brand_id=row["brand_id"], dedup_key=escalation_key(row["id"]), item_id=row["id"],
                    reasons=list(analysis.reasons))


@job(queue="default", retry=AI_RETRY, timeout=300)
async def analyze_item(ctx: Ctx, item_id: int) -> dict:
    """AI-анализ отзыва/вопроса (seed 003 §7.3), then one generate_response. Safe to repeat: only a `new` item
    is analysed; an LLM failure leaves it `new`: the job retries, then defers (module docstring)."""
    row = await _item(ctx.db, item_id)
    if row["status"] != ItemStatus.NEW:
        return {"status": "skipped", "item_id": item_id, "reason": f"item is {row['status']}"}
    analysis = await _llm(ctx, item_id, "analyze", provider(ctx).analyze(feedback_item(row)))
    if analysis is None:
        return {"status": "deferred", "item_id": item_id, "reason": "LLM unavailable"}
    updated = await ctx.db.execute(
        "UPDATE reputation_items SET ai_analysis = $2, analyzed_at = $3, status = 'analyzed', updated_at = $3 "
        "WHERE id = $1 AND status = 'new'", item_id, analysis.as_json(), ctx.now())
    if updated == "UPDATE 1":
        if analysis.escalate:
            await _escalate(ctx, row, analysis)
        await ctx.enqueue("reputation.generate_response", _job_id=REPUTATION_GENERATE_JOB.format(item_id=item_id),
                          item_id=item_id)
    return {"status": "analyzed", "item_id": item_id, "sentiment": analysis.sentiment.value,
            "escalate": analysis.escalate}


async def _generate(ctx: Ctx, item_id: int, instructions: str | None) -> dict:
    row = await _item(ctx.db, item_id)
    if row["status"] not in REGENERATABLE or row["ai_analysis"] is None:
        return {"status": "skipped", "item_id": item_id, "reason": f"item is {row['status']}"}
    item, analysis = feedback_item(row), Analysis.from_json(row["ai_analysis"])
    llm = provider(ctx)
    text = await _llm(ctx, item_id, "generate", llm.draft_reply(item, analysis, instructions))
    if text is None:
        return {"status": "deferred", "item_id": item_id, "reason": "LLM unavailable"}
    verdict = check_reply(text, item.platform, item.item_type, item.author)
    now = ctx.now()
    async with ctx.db.acquire() as conn, conn.transaction():
        current = await conn.fetchval("SELECT status FROM reputation_items WHERE id = $1 FOR UPDATE", item_id)
        if current not in REGENERATABLE:
            return {"status": "skipped", "item_id": item_id, "reason": f"item became {current}"}
        generation = await conn.fetchval("""
            INSERT INTO reputation_responses (item_id, draft_text, instructions, generated_by, guard_reason,
                                              created_at, updated_at)
            VALUES ($1, $2, $3, $4, $6, $5, $5)
            ON CONFLICT (item_id) DO UPDATE SET draft_text = EXCLUDED.draft_text, final_text = NULL,
                instructions = EXCLUDED.instructions, generated_by = EXCLUDED.generated_by,
                generation = reputation_responses.generation + 1, approved_by = NULL, approved_at = NULL,
                auto_approved = false, publish_error = NULL, guard_reason = EXCLUDED.guard_reason,
                updated_at = EXCLUDED.updated_at
            RETURNING generation""", item_id, text, instructions, llm.name, now, verdict.reason or None)
        await conn.execute("UPDATE reputation_items SET status = 'pending_review', updated_at = $2 WHERE id = $1",
                           item_id, now)
    result: dict = {"status": "generated", "item_id": item_id, "generation": generation}
    if not verdict.ok:
        # the draft waits for a person with the reason; auto-approval never sees it
        ctx.log.warning("reply_held_by_guard", item_id=item_id, reason=verdict.reason)
        result["held"] = verdict.reason
    elif instructions is None and should_auto_approve(item, analysis, ctx.settings.reputation.auto_approve):
        approval = await approve(ctx.db, ctx.redis, item_id, by="auto", now=now)
        result["auto_approved"] = approval["status"] == "approved"
    return result


@job(queue="default", retry=AI_RETRY, timeout=300)
async def generate_response(ctx: Ctx, item_id: int, instructions: str | None = None) -> dict:
    """Генерация ответа (seed 003 §7.3): the draft waits in pending_review, or is auto-approved (DOMAIN.md) when
    the content guard passes it."""
    return await _generate(ctx, item_id, instructions)


@job(queue="default", retry=AI_RETRY, timeout=300)
async def regenerate_response(ctx: Ctx, item_id: int, instructions: str) -> dict:
    """Перегенерация ответа с инструкциями (seed 003 §7.3); the new draft needs a new approval."""
    return await _generate(ctx, item_id, instructions)
