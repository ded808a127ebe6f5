"""Polling the marketplaces for new reviews and questions (seed 003 §7.2, §7.3 Polling Tasks, Appendix B.3):
behind the breakers, every brand's unanswered items, stored once, one analyze_item each."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from adolfd.clients.errors import ApiError
from adolfd.clients.feedback import FetchedItem, FetchResult
from adolfd.domain.reputation.review_analysis import ItemType
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.workers.reputation.analysis import queue_stalled
from adolfd.workers.reputation.breakers import breaker_name, breakers
from adolfd.workers.reputation.office import office_metrics, reporter
from adolfd.workers.reputation.resources import TITLES, source

MAX_LOOKBACK = timedelta(days=30)       # YM answers questions of the last month only
POLL_TIME_MARGIN = 15                   # seconds before the job's hard limit at which a slow poll gives up


class PollFailed(Exception):
    """A marketplace list call failed for at least one brand; the breaker counted it."""


@dataclass
class PollSummary:
    fetched: int = 0
    new: int = 0
    invalid: int = 0
    cleaned: int = 0
    quarantined: int = 0
    sweeps: int = 0
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


async def _since(ctx: Ctx, platform: str, item_type: ItemType, brand: str, now: datetime) -> tuple[datetime, bool]:
    """Where this poll starts reading, and whether it is a sweep. Normally the cursor minus an overlap; once per
    `sweep_interval_minutes` the whole lookback (`sweep_lookback_days`, at most a month): an item the marketplace
    shows late — WB publishes a review after moderation, which can take hours, with its original createdDate —
    falls behind the overlap, and only a sweep reads it."""
    row = await ctx.db.fetchrow(
        "SELECT cursor, swept_at FROM reputation_poll_cursors WHERE platform = $1 AND item_type = $2 "
        "AND brand_id = $3", platform, item_type.value, brand)
    rep = ctx.settings.reputation
    if row is None:
        return now - timedelta(days=rep.initial_lookback_days), True
    if row["swept_at"] is None or row["swept_at"] <= now - timedelta(minutes=rep.sweep_interval_minutes):
        return now - min(timedelta(days=rep.sweep_lookback_days), MAX_LOOKBACK), True
    return max(row["cursor"] - timedelta(minutes=rep.cursor_overlap_minutes), now - MAX_LOOKBACK), False


# What says "this value cannot be stored", as opposed to "the database is not there": PostgreSQL's data exceptions
# (SQLSTATE class 22: a NUL in text, \u0000 in jsonb) and asyncpg's refusal to encode an argument (a ValueError: a
# character UTF-8 cannot encode). An outage is none of these: the poll fails and its breaker counts it.
STORE_REFUSALS = (asyncpg.exceptions.DataError, ValueError)


async def _insert(conn: asyncpg.Connection, platform: str, item_type: ItemType, brand: str, rows: list[FetchedItem],
                  now: datetime) -> list[int]:
    return [r["id"] for r in await conn.fetch(
        INSERT_ITEMS, platform, item_type.value, brand, now,
        [r.item.external_id for r in rows], [r.sku for r in rows], [r.item.product_name for r in rows],
        [r.item.author for r in rows], [r.item.rating for r in rows], [r.item.text for r in rows],
        [r.item.pros for r in rows], [r.item.cons for r in rows], [r.created_at for r in rows],
        [r.raw for r in rows])]


async def _insert_one_by_one(ctx: Ctx, platform: str, item_type: ItemType, brand: str, rows: list[FetchedItem],
                             now: datetime) -> tuple[list[int], list[FetchedItem]]:
    """After the page was refused: each item on its own; those still refused go to `reputation_quarantine`."""
    new_ids: list[int] = []
    quarantined: list[FetchedItem] = []
    for row in rows:
        try:
            async with ctx.db.acquire() as conn, conn.transaction():
                new_ids += await _insert(conn, platform, item_type, brand, [row], now)
        except STORE_REFUSALS as exc:
            error = ascii(str(exc))[1:-1][:500]
            ctx.log.warning("poll_item_quarantined", platform=platform, item_type=item_type.value, brand=brand,
                            external_id=ascii(row.item.external_id)[1:-1], error=error)
            await ctx.db.execute(
                "INSERT INTO reputation_quarantine (platform, item_type, external_id, brand_id, error, payload, "
                "first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
                "ON CONFLICT (platform, item_type, external_id) DO UPDATE SET error = EXCLUDED.error, "
                "payload = EXCLUDED.payload, last_seen = EXCLUDED.last_seen",
                platform, item_type.value, ascii(row.item.external_id)[1:-1], brand, error,
                json.dumps(row.raw, ensure_ascii=True, default=str), now)          # ASCII: NUL as \u0000
            quarantined.append(row)
    return new_ids, quarantined


async def _store(ctx: Ctx, platform: str, item_type: ItemType, brand: str, fetched: FetchResult,
                 now: datetime, sweep: bool = False) -> tuple[list[int], list[FetchedItem]]:
    """Insert what is new (once per (platform, type, external id)); return (new ids, items quarantined). A page
    the database refuses is stored item by item, so one poisoned item stops nothing."""
    rows = fetched.items
    quarantined: list[FetchedItem] = []
    try:
        async with ctx.db.acquire() as conn, conn.transaction():
            new_ids = await _insert(conn, platform, item_type, brand, rows, now)
    except STORE_REFUSALS as exc:
        ctx.log.warning("poll_page_refused", platform=platform, item_type=item_type.value, brand=brand,
                        items=len(rows), error=ascii(str(exc))[1:-1][:300])
        new_ids, quarantined = await _insert_one_by_one(ctx, platform, item_type, brand, rows, now)
    async with ctx.db.acquire() as conn, conn.transaction():
        newest = max((r.created_at for r in rows if r.created_at is not None), default=None)
        if newest is not None and not fetched.invalid:
            # an entry we could not read keeps the cursor where it was, so it is read again next time;
            # a quarantined one is kept in reputation_quarantine, so the cursor moves past it
            await conn.execute(
                "INSERT INTO reputation_poll_cursors (platform, item_type, brand_id, cursor, updated_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform, item_type, brand_id) DO UPDATE "
                "SET cursor = GREATEST(reputation_poll_cursors.cursor, EXCLUDED.cursor), "
                "updated_at = EXCLUDED.updated_at",
                platform, item_type.value, brand, newest, now)
        if sweep:
            # a sweep counts once read, whatever it found; until the first cursor there is nothing to record
            await conn.execute("UPDATE reputation_poll_cursors SET swept_at = $4 WHERE platform = $1 "
                               "AND item_type = $2 AND brand_id = $3", platform, item_type.value, brand, now)
    return new_ids, quarantined


async def _poll_items(ctx: Ctx, platform: str, item_type: ItemType) -> dict[str, Any]:
    """Seed §7.3 `_poll_items`: breaker, every brand's unanswered items, store once, one analyze_item each. As in
    the seed, any failure counts against the breaker: an API error, the database, or running out of time (the poll
    stops `POLL_TIME_MARGIN` before the job's hard limit to count it)."""
    name = breaker_name(platform, item_type)
    br = breakers(ctx.redis, ctx.settings)
    admission = await br.admit(name, ctx.now())
    if not admission.allowed:
        retry_at = admission.breaker.retry_at(br.policy)
        ctx.log.warning("poll_circuit_open", breaker=name, retry_at=retry_at)
        return {"status": "circuit_open", "platform": platform, "item_type": item_type.value,
                "retry_at": retry_at.isoformat() if retry_at else None}

    office = reporter(ctx, platform)
    budget = max((ctx.spec.timeout if ctx.spec else 600) - POLL_TIME_MARGIN, 1)
    try:
        await office.report_working(f"Polling {'отзывов' if item_type is ItemType.REVIEW else 'вопросов'} "
                                    f"{TITLES[platform]}")
        async with asyncio.timeout(budget):
            summary = await _poll_brands(ctx, platform, item_type, probe=admission.probe)
    except Exception as exc:  # noqa: BLE001 — counted like the seed's, then raised for the job's policy
        error = f"{type(exc).__name__}: {exc}" if str(exc) else f"{type(exc).__name__}: over {budget:g}s"
        await br.failure(name, ctx.now(), error[:500])
        await office.report_error(f"{TITLES[platform]}: {error}"[:500])
        raise PollFailed(f"{platform} {item_type.value} poll failed: {error}") from exc

    if summary.errors:
        error = "; ".join(summary.errors)
        await br.failure(name, ctx.now(), error)
        await office.report_error(f"{TITLES[platform]} API: {error}"[:500])
        raise PollFailed(f"{platform} {item_type.value} poll failed: {error}")
    await br.success(name, ctx.now())
    await office.report_idle(metrics=await office_metrics(ctx.db, platform, ctx.now(), ctx.settings.timezone))
    return {"status": "success", "platform": platform, "item_type": item_type.value, "fetched": summary.fetched,
            "new": summary.new, "duplicates": summary.fetched - summary.new - summary.quarantined,
            "invalid": summary.invalid, "cleaned": summary.cleaned, "quarantined": summary.quarantined,
            "sweeps": summary.sweeps, "pages": summary.pages, "brands": summary.brands}


async def _poll_brands(ctx: Ctx, platform: str, item_type: ItemType, *, probe: bool) -> PollSummary:
    summary = PollSummary()
    for brand in ctx.brands():
        try:
            client = source(ctx, platform, brand)
        except LookupError as exc:
            ctx.log.info("poll_brand_not_configured", platform=platform, brand=brand, reason=str(exc))
            summary.brands[brand] = {"status": "not_configured"}
            continue
        now = ctx.now()
        since, sweep = await _since(ctx, platform, item_type, brand, now)
        try:
            fetched = await client.unanswered(item_type, since)
        except ApiError as exc:
            summary.errors.append(f"{brand}: {exc}")
            summary.brands[brand] = {"status": "error", "error": str(exc)[:300]}
            if probe:
                break               # a half-open breaker lets one call through, not one per brand
            continue
        for cleaned in fetched.cleaned:
            ctx.log.warning("poll_entry_cleaned", platform=platform, item_type=item_type.value, brand=brand,
                            external_id=cleaned.external_id, fields=list(cleaned.fields))
        new_ids, quarantined = await _store(ctx, platform, item_type, brand, fetched, now, sweep)
        if quarantined:
            await ctx.alert("REPUTATION_QUARANTINED", "warning",
                            f"{TITLES[platform]} {item_type.value}s of {brand}: {len(quarantined)} item(s) could "
                            "not be stored and wait in reputation_quarantine", brand_id=brand,
                            dedup_key=f"quarantine:{platform}:{item_type.value}:{brand}", platform=platform)
        await queue_stalled(ctx, platform, item_type.value, brand)     # new ones, and those an LLM outage held
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
        summary.cleaned += len(fetched.cleaned)
        summary.quarantined += len(quarantined)
        summary.sweeps += sweep
        summary.pages += fetched.pages
        summary.brands[brand] = {"status": "success", "fetched": len(fetched.items), "new": len(new_ids),
                                 "invalid": len(fetched.invalid), "cleaned": len(fetched.cleaned),
                                 "quarantined": len(quarantined), "sweep": sweep}
    return summary


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
