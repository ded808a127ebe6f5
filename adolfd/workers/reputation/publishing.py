"""Publishing a reply (seed 003 §7.3 Publishing Tasks), exactly once.

Publishing once (DOMAIN.md): `send_response` first claims the item in PostgreSQL — status `publishing`, a fresh
attempt id, the start time, the try counter — in one transaction, so a duplicate job finds nothing to claim. Before
every publishing call it asks the marketplace for seller answers (`decide_publish`): after an earlier attempt of
ours whose outcome is unknown (timeout, 5xx, an unreadable answer, a worker killed mid-call) any seller answer is
taken as ours and nothing is sent again; after attempts the marketplace refused outright (a 4xx), an answer found
later was written by someone else and the item is skipped. Right before the claim the content guard reads the reply
once more (`reply_guard`): a held reply goes back to review, never out. After the publishing call the answer's body
is checked by the client and the reply is read back (`seller_answers`): an unreadable answer or a reply that is not
there fails the attempt with its outcome unknown, so the next attempt looks before it sends. The attempt id is derived
from the job id: when a worker dies mid-job (its claim freed by the liveness sweep) or a drain hands the job back,
the job's next try takes its own claim over at once; any other claim is taken over only after
`publish_lease_seconds`, by the frequent `resume_stuck_items` sweep or the hourly `retry_failed_publish`. Only the
holder of the attempt id may finish it."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from adolfd.clients.errors import ApiError, AuthError, BadResponse, RateLimited, Rejected
from adolfd.domain.reputation.replies import ItemStatus, PublishAction, decide_publish
from adolfd.domain.reputation.reply_guard import check_reply
from adolfd.domain.reputation.review_analysis import ItemType
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.engine.retry import RetryPolicy
from adolfd.keys import REPUTATION_SEND_RETRY_JOB
from adolfd.workers.reputation.items import ITEM
from adolfd.workers.reputation.resources import source

PUBLISH_RETRY = RetryPolicy(tries=3, delay=300)  # seed §7.3 send_response: max_retries=3, countdown=300
# Answers that say the marketplace did nothing with our reply (a 4xx refusal, bad credentials, a rate limit);
# a timeout, a 5xx or an unreadable answer leave the outcome unknown.
REFUSED = (Rejected, AuthError, RateLimited)


@dataclass(frozen=True)
class Claim:
    item: asyncpg.Record
    attempt: uuid.UUID
    earlier_attempts: int
    text: str
    doubtful_attempts: int = 0      # earlier attempts whose outcome is unknown


@dataclass(frozen=True)
class Held:
    """The content guard stopped the reply at publish time; the item went back to review."""

    reason: str


def attempt_of(job_id: str) -> uuid.UUID:
    """A job's attempt id, the same on every try of that job: ARQ runs one try of a job id at a time, so a
    later try finding its own job's claim knows the earlier try is over (it died, or a drain cut it)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"reputation.send_response/{job_id}") if job_id else uuid.uuid4()


async def claim_publish(db: asyncpg.Pool, item_id: int, now: datetime, lease: timedelta,
                        max_tries: int, attempt: uuid.UUID | None = None,
                        rerun: bool = False) -> Claim | Held | str:
    """Take the item for one publish attempt, or say why not (its status, `gave_up`, or the guard's `Held`). A
    re-run of the job that holds the claim (`rerun` with the same `attempt`) takes it over without waiting for the
    lease.

    The new attempt counts as doubtful from here: if the worker dies mid-call nobody can tell whether the
    marketplace got it. `_finish` clears that when the outcome is known."""
    attempt = attempt or uuid.uuid4()
    async with db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(ITEM + " FOR UPDATE OF i", item_id)
        if row is None:
            raise LookupError(f"no reputation item {item_id}")
        status = row["status"]
        stale = (status == ItemStatus.PUBLISHING and row["publish_started_at"] is not None
                 and row["publish_started_at"] <= now - lease)
        own = status == ItemStatus.PUBLISHING and rerun and row["publish_attempt"] == attempt
        if not (status in (ItemStatus.APPROVED, ItemStatus.FAILED) or stale or own):
            return status
        if status == ItemStatus.FAILED and row["publish_retry_count"] >= max_tries:
            return "gave_up"
        text = row["final_text"] or row["draft_text"]
        verdict = check_reply(text, row["platform"], row["item_type"], row["author"])
        if not verdict.ok:
            # defence in depth: whatever approved it, a reply the guard holds goes back to a person
            await conn.execute("UPDATE reputation_responses SET guard_reason = $2, approved_by = NULL, "
                               "approved_at = NULL, auto_approved = false, updated_at = $3 WHERE item_id = $1",
                               item_id, verdict.reason, now)
            await conn.execute("UPDATE reputation_items SET status = 'pending_review', updated_at = $2 "
                               "WHERE id = $1", item_id, now)
            return Held(verdict.reason)
        await conn.execute("UPDATE reputation_responses SET publish_attempt = $2, publish_started_at = $3, "
                           "publish_retry_count = publish_retry_count + 1, doubtful_attempts = doubtful_attempts + 1, "
                           "updated_at = $3 WHERE item_id = $1",
                           item_id, attempt, now)
        await conn.execute("UPDATE reputation_items SET status = 'publishing', updated_at = $2 WHERE id = $1",
                           item_id, now)
    return Claim(row, attempt, row["publish_retry_count"], text, row["doubtful_attempts"] or 0)


async def _finish(db: asyncpg.Pool, claim: Claim, status: ItemStatus, now: datetime, *, answer_id: str = "",
                  error: str | None = None, known: bool = True) -> bool:
    """Record the outcome, only if the claim is still ours. `known=False`: the marketplace may or may not have
    our reply (timeout, 5xx, unreadable answer), so the attempt stays doubtful."""
    async with db.acquire() as conn, conn.transaction():
        ours = await conn.fetchval(
            "UPDATE reputation_responses SET publish_error = $3, external_answer_id = COALESCE(NULLIF($4, ''), "
            "external_answer_id), published_at = CASE WHEN $5 THEN $6 ELSE published_at END, updated_at = $6, "
            "doubtful_attempts = CASE WHEN $7 = 'failed' THEN doubtful_attempts - CASE WHEN $8 THEN 1 ELSE 0 END "
            "ELSE 0 END "
            "WHERE item_id = $1 AND publish_attempt = $2 RETURNING item_id",
            claim.item["id"], claim.attempt, error, answer_id, status == ItemStatus.PUBLISHED, now, status.value,
            known)
        if ours is None:
            return False
        await conn.execute("UPDATE reputation_items SET status = $2, updated_at = $3, "
                           "published_at = CASE WHEN $2 = 'published' THEN $3 ELSE published_at END WHERE id = $1",
                           claim.item["id"], status.value, now)
    return True


async def _renew(db: asyncpg.Pool, claim: Claim, now: datetime) -> bool:
    """Right before the publishing call: still ours? Restart the lease so nobody takes over mid-call."""
    return await db.fetchval("UPDATE reputation_responses SET publish_started_at = $3 "
                             "WHERE item_id = $1 AND publish_attempt = $2 RETURNING true",
                             claim.item["id"], claim.attempt, now) is not None


@job(queue="default", retry=PUBLISH_RETRY, timeout=300)
async def send_response(ctx: Ctx, item_id: int) -> dict:
    """Публикация ответа (seed 003 §7.3), exactly once per item (module docstring)."""
    rep = ctx.settings.reputation
    claim = await claim_publish(ctx.db, item_id, ctx.now(), timedelta(seconds=rep.publish_lease_seconds),
                                rep.publish_max_tries, attempt_of(ctx.job_id), rerun=ctx.job_try > 1)
    if isinstance(claim, Held):
        ctx.log.warning("reply_held_by_guard", item_id=item_id, reason=claim.reason)
        await ctx.alert("REPUTATION_REPLY_HELD", "warning",
                        f"reply to item {item_id} was approved but not published: {claim.reason}",
                        dedup_key=f"reply-held:{item_id}", item_id=item_id, reason=claim.reason)
        return {"status": "held_for_review", "item_id": item_id, "reason": claim.reason}
    if not isinstance(claim, Claim):
        ctx.log.info("publish_not_claimed", item_id=item_id, item_status=claim)
        return {"status": "already_published" if claim == ItemStatus.PUBLISHED else "not_claimed",
                "item_id": item_id, "item_status": claim}
    row = claim.item
    item_type = ItemType(row["item_type"])
    ctx.log.info("publish_claimed", item_id=item_id, platform=row["platform"], attempt=str(claim.attempt),
                 earlier_attempts=claim.earlier_attempts)
    sent = False
    try:
        client = source(ctx, row["platform"], row["brand_id"])
        existing = await client.seller_answers(item_type, row["external_id"], row["sku"])
        action = decide_publish(existing, claim.text, claim.doubtful_attempts)
        answer_id = existing[0].answer_id if existing else ""
        if action is PublishAction.PUBLISH:
            if not await _renew(ctx.db, claim, ctx.now()):
                # our attempt sent nothing: it must not make a later answer look like ours
                await ctx.db.execute("UPDATE reputation_responses SET doubtful_attempts = "
                                     "GREATEST(doubtful_attempts - 1, 0) WHERE item_id = $1", item_id)
                ctx.log.warning("publish_claim_lost", item_id=item_id, attempt=str(claim.attempt))
                return {"status": "claim_lost", "item_id": item_id}
            sent = True
            answer_id = await client.publish(item_type, row["external_id"], row["sku"], claim.text)
            if not await client.seller_answers(item_type, row["external_id"], row["sku"]):
                raise BadResponse(f"the reply to {row['platform']} {item_type} {row['external_id']} was accepted "
                                  "but is not there when read back", api=row["platform"])
    except (ApiError, LookupError) as exc:
        known = not sent or isinstance(exc, REFUSED)
        await _finish(ctx.db, claim, ItemStatus.FAILED, ctx.now(), error=str(exc)[:1000], known=known)
        raise
    final = {PublishAction.PUBLISH: ItemStatus.PUBLISHED, PublishAction.CONFIRM: ItemStatus.PUBLISHED,
             PublishAction.SKIP: ItemStatus.SKIPPED}[action]
    note = "answered on the marketplace outside adolfd" if action is PublishAction.SKIP else None
    if not await _finish(ctx.db, claim, final, ctx.now(), answer_id=answer_id, error=note):
        ctx.log.warning("publish_claim_lost", item_id=item_id, attempt=str(claim.attempt))
        return {"status": "claim_lost", "item_id": item_id}
    ctx.log.info("publish_done", item_id=item_id, action=action.value, answer_id=answer_id)
    return {"status": final.value, "item_id": item_id, "action": action.value}


@job(queue="default")
async def retry_failed_publish(ctx: Ctx) -> dict:
    """Повтор failed (seed 003 §7.3, hourly): failed items below the try limit, claims left by dead workers,
    and approvals whose send_response never got enqueued. Items at the limit raise one alert each."""
    rep = ctx.settings.reputation
    now = ctx.now()
    lease_start = now - timedelta(seconds=rep.publish_lease_seconds)
    rows = await ctx.db.fetch("""
        SELECT i.id, i.status, i.platform, i.brand_id, r.publish_retry_count AS tries, r.publish_error
        FROM reputation_items i JOIN reputation_responses r ON r.item_id = i.id
        WHERE i.status = 'failed'
           OR (i.status = 'publishing' AND r.publish_started_at <= $1)
           OR (i.status = 'approved' AND r.approved_at <= $1)
        ORDER BY i.id""", lease_start)
    retried, gave_up = [], []
    for r in rows:
        if r["status"] == ItemStatus.FAILED and r["tries"] >= rep.publish_max_tries:
            gave_up.append(r["id"])
            await ctx.alert("REPUTATION_PUBLISH_FAILED", "high",
                            f"reply to {r['platform']} item {r['id']} failed {r['tries']} times: {r['publish_error']}",
                            brand_id=r["brand_id"], dedup_key=f"publish-failed:{r['id']}", item_id=r["id"])
            continue
        await ctx.enqueue("reputation.send_response",
                          _job_id=REPUTATION_SEND_RETRY_JOB.format(item_id=r["id"], tries=r["tries"]),
                          item_id=r["id"])
        retried.append(r["id"])
    return {"status": "ok", "retried": len(retried), "gave_up": len(gave_up), "item_ids": retried}
