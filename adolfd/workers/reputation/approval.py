"""Approving, skipping and regenerating replies (seed 003 §7.3): plain functions over PostgreSQL and Redis, used by
the `adolfd approve|skip|regenerate` commands and the bot, and the operator's review queue."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from arq.connections import ArqRedis

from adolfd.admin.alerts import resolve_alerts
from adolfd.domain.reputation.replies import APPROVABLE, REGENERATABLE, SKIPPABLE, ItemStatus, fit_reply
from adolfd.domain.reputation.reply_guard import check_reply
from adolfd.engine.enqueue import enqueue
from adolfd.keys import REPUTATION_REGENERATE_JOB, REPUTATION_SEND_APPROVED_JOB
from adolfd.workers.reputation.items import _item


def escalation_key(item_id: int) -> str:
    return f"escalation:{item_id}"


class ReplyHeld(ValueError):
    """The content guard holds the reply: it stays in review with the reason (reply_guard)."""


async def approve(db: asyncpg.Pool, redis: ArqRedis, item_id: int, *, by: str, text: str | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Approve a pending reply (optionally with the operator's own text) and enqueue its one send_response.
    A reply the content guard holds is not approved: `ReplyHeld` names the reason."""
    now = now or datetime.now(UTC)
    final = fit_reply(text, 3000) if text is not None else None
    async with db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT i.status, i.platform, i.item_type, i.author, r.generation, r.draft_text, "
                                  "r.final_text FROM reputation_items i "
                                  "LEFT JOIN reputation_responses r ON r.item_id = i.id "
                                  "WHERE i.id = $1 FOR UPDATE OF i",
                                  item_id)
        if row is None:
            raise LookupError(f"no reputation item {item_id}")
        if row["status"] not in APPROVABLE or row["generation"] is None:
            raise ValueError(f"item {item_id} is {row['status']}; only items pending review can be approved")
        reply = final if final is not None else (row["final_text"] or row["draft_text"])
        verdict = check_reply(reply, row["platform"], row["item_type"], row["author"])
        if verdict.ok:
            await conn.execute("UPDATE reputation_responses SET approved_by = $2, approved_at = $3, "
                               "auto_approved = $4, final_text = COALESCE($5, final_text), guard_reason = NULL, "
                               "updated_at = $3 WHERE item_id = $1",
                               item_id, by, now, by == "auto", final)
            await conn.execute("UPDATE reputation_items SET status = 'approved', updated_at = $2 WHERE id = $1",
                               item_id, now)
        elif final is None:
            await conn.execute("UPDATE reputation_responses SET guard_reason = $2, updated_at = $3 WHERE item_id = $1",
                               item_id, verdict.reason, now)
    if not verdict.ok:
        whose = "your text" if final is not None else "the drafted reply"
        raise ReplyHeld(f"item {item_id}: {whose} cannot be published: {verdict.reason}. "
                        "Approve it with your own text or regenerate it.")
    job_id = REPUTATION_SEND_APPROVED_JOB.format(item_id=item_id, generation=row["generation"])
    if await enqueue(redis, "reputation.send_response", {"item_id": item_id}, job_id=job_id) is None:
        # approved again after the guard sent it back at publish time: that job's kept result holds the id
        await enqueue(redis, "reputation.send_response", {"item_id": item_id},
                      job_id=f"{job_id}:{uuid.uuid4().hex[:8]}")
    await resolve_alerts(db, module="reputation", dedup_keys=[escalation_key(item_id)])
    return {"status": "approved", "item_id": item_id, "by": by}


async def skip(db: asyncpg.Pool, item_id: int, *, by: str, now: datetime | None = None) -> dict[str, Any]:
    """Leave an item unanswered on purpose (seed's `skipped`); it is archived with the published ones."""
    now = now or datetime.now(UTC)
    status = await db.fetchval(
        "UPDATE reputation_items SET status = 'skipped', updated_at = $3 WHERE id = $1 AND status = ANY($2::text[]) "
        "RETURNING status", item_id, [s.value for s in SKIPPABLE], now)
    if status is None:
        current = await db.fetchval("SELECT status FROM reputation_items WHERE id = $1", item_id)
        if current is None:
            raise LookupError(f"no reputation item {item_id}")
        raise ValueError(f"item {item_id} is {current}; it cannot be skipped now")
    await db.execute("UPDATE reputation_responses SET publish_error = $2, updated_at = $3 WHERE item_id = $1",
                     item_id, f"skipped by {by}", now)
    await resolve_alerts(db, module="reputation", dedup_keys=[escalation_key(item_id)])
    return {"status": "skipped", "item_id": item_id, "by": by}


async def request_regeneration(db: asyncpg.Pool, redis: ArqRedis, item_id: int, instructions: str) -> dict[str, Any]:
    """Enqueue regenerate_response with the operator's instructions."""
    if not instructions.strip():
        raise ValueError("instructions must not be empty")
    row = await _item(db, item_id)
    if row["status"] not in REGENERATABLE:
        raise ValueError(f"item {item_id} is {row['status']}; only analysed, pending or failed items can be redrafted")
    queued = await enqueue(redis, "reputation.regenerate_response", {"item_id": item_id, "instructions": instructions},
                           job_id=REPUTATION_REGENERATE_JOB.format(
                               item_id=item_id, generation=row["generation"] or 0, nonce=uuid.uuid4().hex[:8]))
    return {"status": "queued", "item_id": item_id, "job_id": queued.job_id if queued else None}


async def list_items(db: asyncpg.Pool, status: str, limit: int = 20) -> list[dict[str, Any]]:
    """Items in one status with the reply to publish: escalated ones first (safety before the rest), then oldest
    first (the operator's review queue)."""
    if status not in set(ItemStatus):
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(s.value for s in ItemStatus)}")
    rows = await db.fetch(
        "SELECT i.id, i.platform, i.item_type, i.brand_id, i.rating, i.text, i.ai_analysis, "
        "coalesce((i.ai_analysis->>'escalate')::boolean, false) AS escalate, "
        "coalesce(r.final_text, r.draft_text) AS draft, r.guard_reason FROM reputation_items i "
        "LEFT JOIN reputation_responses r ON r.item_id = i.id WHERE i.status = $1 "
        "ORDER BY coalesce((i.ai_analysis->>'escalate')::boolean, false) DESC, "
        "coalesce(i.ai_analysis->'reasons' ? 'safety', false) DESC, i.id LIMIT $2",
        status, limit)
    return [dict(r) for r in rows]
