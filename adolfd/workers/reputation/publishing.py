"""Reputation jobs (seed 003 §7.1–7.3, Appendix B): poll reviews and questions of Wildberries, Ozon and Yandex
Market behind circuit breakers, analyse each new item, draft a reply, wait for approval, publish it once.

Item lifecycle (`adolfd.domain.reputation.replies.ItemStatus`): new → analyzed → pending_review → approved → publishing →
published; `failed` after a failed publish (retried hourly below 5 tries), `skipped` by an operator or when the
marketplace already shows a seller answer written elsewhere.

Publishing once (DOMAIN.md): `send_response` first claims the item in PostgreSQL — status `publishing`, a fresh
attempt id, the start time, the try counter — in one transaction, so a duplicate job finds nothing to claim.
Before every publishing call it asks the marketplace for seller answers (`decide_publish`): after an earlier
attempt of ours whose outcome is unknown (timeout, 5xx, a worker killed mid-call) any seller answer is taken
as ours and nothing is sent again. A claim whose worker died is taken over only after `publish_lease_seconds`,
by the job's own ARQ re-run or by the hourly `retry_failed_publish`; only the holder of the attempt id may
finish it.

Approving (`approve`, `skip`, `request_regeneration`) are plain functions over PostgreSQL and Redis, used by the
`adolfd approve|skip|regenerate` commands and the bot.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
from arq.connections import ArqRedis

from adolfd.clients.breaker import RedisBreakers
from adolfd.clients.errors import ApiError
from adolfd.clients.feedback import FeedbackSource, FetchResult
from adolfd.clients.llm import LLMProvider, worker_provider
from adolfd.engine.context import Ctx
from adolfd.domain.circuit_breaker import BreakerPolicy
from adolfd.domain.reputation.replies import (
    APPROVABLE,
    REGENERATABLE,
    SKIPPABLE,
    WAITING,
    ItemStatus,
    PublishAction,
    decide_publish,
    fit_reply,
    should_auto_approve,
)
from adolfd.domain.reputation.review_analysis import Analysis, FeedbackItem, ItemType
from adolfd.engine.enqueue import enqueue
from adolfd.admin.office import OfficeAgent, OfficeReporter
from adolfd.engine.jobs import job
from adolfd.engine.retry import RetryPolicy
from adolfd.settings import Settings

MODULE = "reputation"
PLATFORMS = ("wb", "ozon", "ym")
CLIENTS = {"wb": "wb_feedbacks", "ozon": "ozon_reviews", "ym": "ym_feedback"}
TITLES = {"wb": "Wildberries", "ozon": "Ozon", "ym": "Яндекс.Маркет"}
MAX_LOOKBACK = timedelta(days=30)       # YM answers questions of the last month only
ARCHIVE_BATCH = 5000

# seed 003 Appendix B.1
AGENTS = {
    "wb": OfficeAgent("reputation_wb", "reputation", "WB отзывы", 60000, 1.0),
    "ozon": OfficeAgent("reputation_ozon", "reputation", "Ozon отзывы", 60000, 1.0),
    "ym": OfficeAgent("reputation_ym", "reputation", "YM отзывы", 60000, 1.0),
}

AI_RETRY = RetryPolicy(tries=3, delay=60)        # seed §7.3: max_retries=3, countdown=60
PUBLISH_RETRY = RetryPolicy(tries=3, delay=300)  # seed §7.3 send_response: max_retries=3, countdown=300


class PollFailed(Exception):
    """A marketplace list call failed for at least one brand; the breaker counted it."""


# -- shared resources --------------------------------------------------------------------------------------

def breaker_policy(settings: Settings) -> BreakerPolicy:
    rep = settings.reputation
    return BreakerPolicy(failure_threshold=rep.breaker_failures, cooldown=timedelta(seconds=rep.breaker_cooldown_seconds),
                         probe_timeout=timedelta(seconds=rep.breaker_probe_timeout_seconds))


def breakers(redis: ArqRedis, settings: Settings) -> RedisBreakers:
    return RedisBreakers(redis, breaker_policy(settings))


def breaker_name(platform: str, item_type: ItemType | str) -> str:
    return f"reputation:{platform}:{ItemType(item_type).value}"


BREAKER_NAMES = [breaker_name(p, t) for p in PLATFORMS for t in ItemType]


def reporter(ctx: Ctx, platform: str) -> OfficeReporter:
    return OfficeReporter(AGENTS[platform], ctx.redis, ctx.now, ctx.settings.reputation.office_ttl_seconds)


def provider(ctx: Ctx) -> LLMProvider:
    """The worker's LLM provider, built once per process (offline unless `llm.provider=http`)."""
    return worker_provider(ctx.res)


def source(ctx: Ctx, platform: str, brand: str) -> FeedbackSource:
    return ctx.client(CLIENTS[platform], brand)  # type: ignore[return-value]


async def breaker_status(redis: ArqRedis, db: asyncpg.Pool | None) -> list[dict[str, Any]]:
    """`adolfd status` / bot: the six polling breakers."""
    from adolfd.settings import load_settings

    return await breakers(redis, load_settings()).snapshot(BREAKER_NAMES)




# -- polling (seed §7.3 Polling Tasks, Appendix B.3) ---------------------------------------------------------

@dataclass
class PollSummary:
    fetched: int = 0
    new: int = 0
    invalid: int = 0
    pages: int = 0
    brands: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


INSERT_ITEMS = """
INSERT INTO reputation_items (platform, item_type, brand_id, external_id, sku, product_name, author, rating, text,
                              pros, cons, source_created_at, raw, created_at, updated_at)
SELECT $1, $2, $3, u.external_id, u.sku, u.product_name, u.author, u.rating, u.text, u.pros, u.cons, u.created,
       u.raw, $4, $4
FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::smallint[], $10::text[], $11::text[], $12::text[],
            $13::timestamptz[], $14::jsonb[])
     AS u(external_id, sku, product_name, author, rating, text, pros, cons, created, raw)
ON CONFLICT (platform, item_type, external_id) DO NOTHING
RETURNING id
"""

STILL_NEW = """
SELECT id FROM reputation_items
WHERE platform = $1 AND item_type = $2 AND external_id = ANY($3::text[]) AND status = 'new'
"""


async def _since(ctx: Ctx, platform: str, item_type: ItemType, brand: str, now: datetime) -> datetime:
    cursor = await ctx.db.fetchval(
        "SELECT cursor FROM reputation_poll_cursors WHERE platform = $1 AND item_type = $2 AND brand_id = $3",
        platform, item_type.value, brand)
    rep = ctx.settings.reputation
    if cursor is None:
        return now - timedelta(days=rep.initial_lookback_days)
    return max(cursor - timedelta(minutes=rep.cursor_overlap_minutes), now - MAX_LOOKBACK)


async def _store(ctx: Ctx, platform: str, item_type: ItemType, brand: str, fetched: FetchResult,
                 now: datetime) -> tuple[list[int], list[int]]:
    """Insert what is new (once per (platform, type, external id)); return (new ids, ids still awaiting analysis)."""
    rows = fetched.items
    async with ctx.db.acquire() as conn, conn.transaction():
        new_ids = [r["id"] for r in await conn.fetch(
            INSERT_ITEMS, platform, item_type.value, brand, now,
            [r.item.external_id for r in rows], [r.sku for r in rows], [r.item.product_name for r in rows],
            [r.item.author for r in rows], [r.item.rating for r in rows], [r.item.text for r in rows],
            [r.item.pros for r in rows], [r.item.cons for r in rows], [r.created_at for r in rows],
            [r.raw for r in rows])]
        pending = [r["id"] for r in await conn.fetch(STILL_NEW, platform, item_type.value,
                                                     [r.item.external_id for r in rows])]
        newest = max((r.created_at for r in rows if r.created_at is not None), default=None)
        if newest is not None and not fetched.invalid:
            # an entry we could not read keeps the cursor where it was, so it is read again next time
            await conn.execute(
                "INSERT INTO reputation_poll_cursors (platform, item_type, brand_id, cursor, updated_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform, item_type, brand_id) DO UPDATE "
                "SET cursor = GREATEST(reputation_poll_cursors.cursor, EXCLUDED.cursor), updated_at = EXCLUDED.updated_at",
                platform, item_type.value, brand, newest, now)
    return new_ids, pending


async def office_metrics(db: asyncpg.Pool, platform: str, now: datetime, tz: str) -> dict[str, Any]:
    """Appendix B.6: reviews stored today, average minutes from the customer's post to our reply (published
    today), items waiting in the queue. `now` is in the configured timezone (`ctx.now()`)."""
    row = await db.fetchrow("""
        SELECT count(*) FILTER (WHERE item_type = 'review' AND (created_at AT TIME ZONE $3)::date = $2) AS reviews_today,
               avg(extract(epoch FROM published_at - coalesce(source_created_at, created_at)) / 60)
                   FILTER (WHERE status = 'published' AND (published_at AT TIME ZONE $3)::date = $2) AS avg_min,
               count(*) FILTER (WHERE status = ANY($4::text[])) AS queue_size
        FROM reputation_items WHERE platform = $1
    """, platform, now.date(), tz, [s.value for s in WAITING])
    avg_min = row["avg_min"]
    return {"reviews_today": row["reviews_today"],
            "avg_response_min": round(float(avg_min), 1) if avg_min is not None else None,
            "queue_size": row["queue_size"]}


async def _poll_items(ctx: Ctx, platform: str, item_type: ItemType) -> dict[str, Any]:
    """Seed §7.3 `_poll_items`: breaker, every brand's unanswered items, store once, one analyze_item each."""
    name = breaker_name(platform, item_type)
    br = breakers(ctx.redis, ctx.settings)
    admission = await br.admit(name, ctx.now())
    if not admission.allowed:
        retry_at = admission.breaker.retry_at(br.policy)
        ctx.log.warning("poll_circuit_open", breaker=name, retry_at=retry_at)
        return {"status": "circuit_open", "platform": platform, "item_type": item_type.value,
                "retry_at": retry_at.isoformat() if retry_at else None}

    office = reporter(ctx, platform)
    await office.report_working(f"Polling {'отзывов' if item_type is ItemType.REVIEW else 'вопросов'} "
                                f"{TITLES[platform]}")
    summary = PollSummary()
    for brand in ctx.brands():
        try:
            client = source(ctx, platform, brand)
        except LookupError as exc:
            ctx.log.info("poll_brand_not_configured", platform=platform, brand=brand, reason=str(exc))
            summary.brands[brand] = {"status": "not_configured"}
            continue
        now = ctx.now()
        try:
            fetched = await client.unanswered(item_type, await _since(ctx, platform, item_type, brand, now))
        except ApiError as exc:
            summary.errors.append(f"{brand}: {exc}")
            summary.brands[brand] = {"status": "error", "error": str(exc)[:300]}
            if admission.probe:
                break               # a half-open breaker lets one call through, not one per brand
            continue
        new_ids, pending = await _store(ctx, platform, item_type, brand, fetched, now)
        for item_id in pending:
            await ctx.enqueue("reputation.analyze_item", _job_id=f"reputation:analyze:{item_id}", item_id=item_id)
        for bad in fetched.invalid:
            ctx.log.warning("poll_invalid_entry", platform=platform, item_type=item_type.value, brand=brand,
                            external_id=bad.external_id, error=bad.error)
            await ctx.alert("REPUTATION_BAD_ITEM", "warning",
                            f"{TITLES[platform]} {item_type.value} {bad.external_id} could not be read: {bad.error}",
                            brand_id=brand, dedup_key=f"bad-item:{platform}:{item_type.value}:{bad.external_id}",
                            platform=platform, external_id=bad.external_id, error=bad.error)
        summary.fetched += len(fetched.items)
        summary.new += len(new_ids)
        summary.invalid += len(fetched.invalid)
        summary.pages += fetched.pages
        summary.brands[brand] = {"status": "success", "fetched": len(fetched.items), "new": len(new_ids),
                                 "invalid": len(fetched.invalid)}

    if summary.errors:
        error = "; ".join(summary.errors)
        await br.failure(name, ctx.now(), error)
        await office.report_error(f"{TITLES[platform]} API: {error}"[:500])
        raise PollFailed(f"{platform} {item_type.value} poll failed: {error}")
    await br.success(name, ctx.now())
    await office.report_idle(metrics=await office_metrics(ctx.db, platform, ctx.now(), ctx.settings.timezone))
    return {"status": "success", "platform": platform, "item_type": item_type.value, "fetched": summary.fetched,
            "new": summary.new, "duplicates": summary.fetched - summary.new, "invalid": summary.invalid,
            "pages": summary.pages, "brands": summary.brands}


@job(queue="default")
async def poll_wb_reviews(ctx: Ctx) -> dict:
    """Polling отзывов Wildberries (seed 003 §7.2: */5 at :00)."""
    return await _poll_items(ctx, "wb", ItemType.REVIEW)


@job(queue="default")
async def poll_wb_questions(ctx: Ctx) -> dict:
    """Polling вопросов Wildberries (seed 003 §7.2: */5 at 0:50)."""
    return await _poll_items(ctx, "wb", ItemType.QUESTION)


@job(queue="default")
async def poll_ozon_reviews(ctx: Ctx) -> dict:
    """Polling отзывов Ozon (seed 003 §7.2: */5 at 1:40)."""
    return await _poll_items(ctx, "ozon", ItemType.REVIEW)


@job(queue="default")
async def poll_ozon_questions(ctx: Ctx) -> dict:
    """Polling вопросов Ozon (seed 003 §7.2: */5 at 2:30)."""
    return await _poll_items(ctx, "ozon", ItemType.QUESTION)


@job(queue="default")
async def poll_ym_reviews(ctx: Ctx) -> dict:
    """Polling отзывов Яндекс.Маркет (seed 003 §7.2: */5 at 3:20)."""
    return await _poll_items(ctx, "ym", ItemType.REVIEW)


@job(queue="default")
async def poll_ym_questions(ctx: Ctx) -> dict:
    """Polling вопросов Яндекс.Маркет (seed 003 §7.2: */5 at 4:10)."""
    return await _poll_items(ctx, "ym", ItemType.QUESTION)


# -- analysis and replies (seed §7.3 AI Tasks) -----------------------------------------------------------------

ITEM = """
SELECT i.*, r.draft_text, r.final_text, r.generation, r.publish_retry_count, r.publish_attempt,
       r.publish_started_at
FROM reputation_items i LEFT JOIN reputation_responses r ON r.item_id = i.id WHERE i.id = $1
"""


def feedback_item(row: asyncpg.Record) -> FeedbackItem:
    return FeedbackItem(platform=row["platform"], item_type=row["item_type"], external_id=row["external_id"],
                        text=row["text"], rating=row["rating"], pros=row["pros"], cons=row["cons"],
                        author=row["author"], product_name=row["product_name"], brand_id=row["brand_id"])


async def _item(db: asyncpg.Pool | asyncpg.Connection, item_id: int) -> asyncpg.Record:
    row = await db.fetchrow(ITEM, item_id)
    if row is None:
        raise LookupError(f"no reputation item {item_id}")
    return row


@job(queue="default", retry=AI_RETRY, timeout=300)
async def analyze_item(ctx: Ctx, item_id: int) -> dict:
    """AI-анализ отзыва/вопроса (seed 003 §7.3), then one generate_response. Safe to repeat: only a `new` item
    is analysed; an LLM failure leaves it `new` and the job retries."""
    row = await _item(ctx.db, item_id)
    if row["status"] != ItemStatus.NEW:
        return {"status": "skipped", "item_id": item_id, "reason": f"item is {row['status']}"}
    analysis = await provider(ctx).analyze(feedback_item(row))
    updated = await ctx.db.execute(
        "UPDATE reputation_items SET ai_analysis = $2, analyzed_at = $3, status = 'analyzed', updated_at = $3 "
        "WHERE id = $1 AND status = 'new'", item_id, analysis.as_json(), ctx.now())
    if updated == "UPDATE 1":
        await ctx.enqueue("reputation.generate_response", _job_id=f"reputation:generate:{item_id}",
                          item_id=item_id)
    return {"status": "analyzed", "item_id": item_id, "sentiment": analysis.sentiment.value,
            "escalate": analysis.escalate}


async def _generate(ctx: Ctx, item_id: int, instructions: str | None) -> dict:
    row = await _item(ctx.db, item_id)
    if row["status"] not in REGENERATABLE or row["ai_analysis"] is None:
        return {"status": "skipped", "item_id": item_id, "reason": f"item is {row['status']}"}
    item, analysis = feedback_item(row), Analysis.from_json(row["ai_analysis"])
    llm = provider(ctx)
    text = await llm.draft_reply(item, analysis, instructions)
    now = ctx.now()
    async with ctx.db.acquire() as conn, conn.transaction():
        current = await conn.fetchval("SELECT status FROM reputation_items WHERE id = $1 FOR UPDATE", item_id)
        if current not in REGENERATABLE:
            return {"status": "skipped", "item_id": item_id, "reason": f"item became {current}"}
        generation = await conn.fetchval("""
            INSERT INTO reputation_responses (item_id, draft_text, instructions, generated_by, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $5)
            ON CONFLICT (item_id) DO UPDATE SET draft_text = EXCLUDED.draft_text, final_text = NULL,
                instructions = EXCLUDED.instructions, generated_by = EXCLUDED.generated_by,
                generation = reputation_responses.generation + 1, approved_by = NULL, approved_at = NULL,
                auto_approved = false, publish_error = NULL, updated_at = EXCLUDED.updated_at
            RETURNING generation""", item_id, text, instructions, llm.name, now)
        await conn.execute("UPDATE reputation_items SET status = 'pending_review', updated_at = $2 WHERE id = $1",
                           item_id, now)
    result = {"status": "generated", "item_id": item_id, "generation": generation}
    if instructions is None and should_auto_approve(item, analysis, ctx.settings.reputation.auto_approve):
        result["auto_approved"] = (await approve(ctx.db, ctx.redis, item_id, by="auto", now=now))["status"] == "approved"
    return result


@job(queue="default", retry=AI_RETRY, timeout=300)
async def generate_response(ctx: Ctx, item_id: int, instructions: str | None = None) -> dict:
    """Генерация ответа (seed 003 §7.3): the draft waits in pending_review, or is auto-approved (DOMAIN.md)."""
    return await _generate(ctx, item_id, instructions)


@job(queue="default", retry=AI_RETRY, timeout=300)
async def regenerate_response(ctx: Ctx, item_id: int, instructions: str) -> dict:
    """Перегенерация ответа с инструкциями (seed 003 §7.3); the new draft needs a new approval."""
    return await _generate(ctx, item_id, instructions)


# -- approval (bot command, CLI, external UI) ------------------------------------------------------------------

async def approve(db: asyncpg.Pool, redis: ArqRedis, item_id: int, *, by: str, text: str | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Approve a pending reply (optionally with the operator's own text) and enqueue its one send_response."""
    now = now or datetime.now(timezone.utc)
    final = fit_reply(text, 3000) if text is not None else None
    async with db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT i.status, r.generation FROM reputation_items i "
                                  "LEFT JOIN reputation_responses r ON r.item_id = i.id WHERE i.id = $1 FOR UPDATE OF i",
                                  item_id)
        if row is None:
            raise LookupError(f"no reputation item {item_id}")
        if row["status"] not in APPROVABLE or row["generation"] is None:
            raise ValueError(f"item {item_id} is {row['status']}; only items pending review can be approved")
        await conn.execute("UPDATE reputation_responses SET approved_by = $2, approved_at = $3, auto_approved = $4, "
                           "final_text = COALESCE($5, final_text), updated_at = $3 WHERE item_id = $1",
                           item_id, by, now, by == "auto", final)
        await conn.execute("UPDATE reputation_items SET status = 'approved', updated_at = $2 WHERE id = $1",
                           item_id, now)
    await enqueue(redis, "reputation.send_response", {"item_id": item_id},
                  job_id=f"reputation:send:{item_id}:g{row['generation']}")
    return {"status": "approved", "item_id": item_id, "by": by}


async def skip(db: asyncpg.Pool, item_id: int, *, by: str, now: datetime | None = None) -> dict[str, Any]:
    """Leave an item unanswered on purpose (seed's `skipped`); it is archived with the published ones."""
    now = now or datetime.now(timezone.utc)
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
    return {"status": "skipped", "item_id": item_id, "by": by}


async def request_regeneration(db: asyncpg.Pool, redis: ArqRedis, item_id: int, instructions: str) -> dict[str, Any]:
    """Enqueue regenerate_response with the operator's instructions."""
    if not instructions.strip():
        raise ValueError("instructions must not be empty")
    row = await _item(db, item_id)
    if row["status"] not in REGENERATABLE:
        raise ValueError(f"item {item_id} is {row['status']}; only analysed, pending or failed items can be redrafted")
    queued = await enqueue(redis, "reputation.regenerate_response", {"item_id": item_id, "instructions": instructions},
                           job_id=f"reputation:regenerate:{item_id}:g{row['generation'] or 0}:{uuid.uuid4().hex[:8]}")
    return {"status": "queued", "item_id": item_id, "job_id": queued.job_id if queued else None}


# -- publishing (seed §7.3 Publishing Tasks) -----------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    item: asyncpg.Record
    attempt: uuid.UUID
    earlier_attempts: int
    text: str


async def claim_publish(db: asyncpg.Pool, item_id: int, now: datetime, lease: timedelta,
                        max_tries: int) -> Claim | str:
    """Take the item for one publish attempt, or say why not (its status, or `gave_up`)."""
    async with db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(ITEM + " FOR UPDATE OF i", item_id)
        if row is None:
            raise LookupError(f"no reputation item {item_id}")
        status = row["status"]
        stale = (status == ItemStatus.PUBLISHING and row["publish_started_at"] is not None
                 and row["publish_started_at"] <= now - lease)
        if not (status in (ItemStatus.APPROVED, ItemStatus.FAILED) or stale):
            return status
        if status == ItemStatus.FAILED and row["publish_retry_count"] >= max_tries:
            return "gave_up"
        attempt = uuid.uuid4()
        await conn.execute("UPDATE reputation_responses SET publish_attempt = $2, publish_started_at = $3, "
                           "publish_retry_count = publish_retry_count + 1, updated_at = $3 WHERE item_id = $1",
                           item_id, attempt, now)
        await conn.execute("UPDATE reputation_items SET status = 'publishing', updated_at = $2 WHERE id = $1",
                           item_id, now)
    return Claim(row, attempt, row["publish_retry_count"], row["final_text"] or row["draft_text"])


async def _finish(db: asyncpg.Pool, claim: Claim, status: ItemStatus, now: datetime, *, answer_id: str = "",
                  error: str | None = None) -> bool:
    """Record the outcome, only if the claim is still ours."""
    async with db.acquire() as conn, conn.transaction():
        ours = await conn.fetchval(
            "UPDATE reputation_responses SET publish_error = $3, external_answer_id = COALESCE(NULLIF($4, ''), "
            "external_answer_id), published_at = CASE WHEN $5 THEN $6 ELSE published_at END, updated_at = $6 "
            "WHERE item_id = $1 AND publish_attempt = $2 RETURNING item_id",
            claim.item["id"], claim.attempt, error, answer_id, status == ItemStatus.PUBLISHED, now)
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
                                rep.publish_max_tries)
    if not isinstance(claim, Claim):
        ctx.log.info("publish_not_claimed", item_id=item_id, item_status=claim)
        return {"status": "already_published" if claim == ItemStatus.PUBLISHED else "not_claimed",
                "item_id": item_id, "item_status": claim}
    row = claim.item
    item_type = ItemType(row["item_type"])
    ctx.log.info("publish_claimed", item_id=item_id, platform=row["platform"], attempt=str(claim.attempt),
                 earlier_attempts=claim.earlier_attempts)
    try:
        client = source(ctx, row["platform"], row["brand_id"])
        existing = await client.seller_answers(item_type, row["external_id"], row["sku"])
        action = decide_publish(existing, claim.text, claim.earlier_attempts)
        answer_id = existing[0].answer_id if existing else ""
        if action is PublishAction.PUBLISH:
            if not await _renew(ctx.db, claim, ctx.now()):
                ctx.log.warning("publish_claim_lost", item_id=item_id, attempt=str(claim.attempt))
                return {"status": "claim_lost", "item_id": item_id}
            answer_id = await client.publish(item_type, row["external_id"], row["sku"], claim.text)
    except (ApiError, LookupError) as exc:
        await _finish(ctx.db, claim, ItemStatus.FAILED, ctx.now(), error=str(exc)[:1000])
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
        await ctx.enqueue("reputation.send_response", _job_id=f"reputation:send:{r['id']}:t{r['tries']}",
                          item_id=r["id"])
        retried.append(r["id"])
    return {"status": "ok", "retried": len(retried), "gave_up": len(gave_up), "item_ids": retried}


# -- analytics, archive, office (seed §7.3 Служебные Tasks, Appendix B.4) -------------------------------------

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


@job(queue="default")
async def office_heartbeat(ctx: Ctx) -> dict:
    """Обновление статуса агентов в Office Dashboard (seed 003 Appendix B.4, every minute)."""
    for platform in AGENTS:
        await reporter(ctx, platform).heartbeat()
    return {"success": True, "agents": len(AGENTS)}


async def list_items(db: asyncpg.Pool, status: str, limit: int = 20) -> list[dict[str, Any]]:
    """Items in one status with the reply to publish, oldest first (the operator's review queue)."""
    ItemStatus(status)  # an unknown status is a clear ValueError
    rows = await db.fetch(
        "SELECT i.id, i.platform, i.item_type, i.brand_id, i.rating, i.text, i.ai_analysis, "
        "coalesce(r.final_text, r.draft_text) AS draft FROM reputation_items i "
        "LEFT JOIN reputation_responses r ON r.item_id = i.id WHERE i.status = $1 ORDER BY i.id LIMIT $2",
        status, limit)
    return [dict(r) for r in rows]


# `arq adolfd.workers.reputation.<Queue>Settings` runs one queue with the plain ARQ CLI.

