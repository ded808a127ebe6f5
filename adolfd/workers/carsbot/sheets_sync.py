"""Sheet jobs (seed 004 "Периодические задачи"): channels every minute, subscribers every 5 minutes, analytics hourly.

The syncs mirror the operator's sheet: rows upsert, ids no longer in the sheet are deactivated (kept, for the
posts and history that point at them). A sync never overlaps itself: a Redis lock with an owner token and the
job's timeout as TTL; a second run while one holds it returns `skipped`. Garbled rows are reported with their
sheet row numbers (in the result and as one warning alert per distinct set of problems) and the rest syncs; an
unusable sheet (a required column renamed) changes nothing (`adolfd.domain.carsbot.sheets`).
"""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from redis.asyncio.lock import Lock

from adolfd.domain.carsbot.sheets import ANALYTICS_HEADER, SheetIssue, SheetRead, parse_channels, parse_subscribers
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.keys import CARSBOT_SYNC_LOCK as SYNC_LOCK
from adolfd.workers.carsbot.reinvite import reinvite_renewed
from adolfd.workers.carsbot.resources import sheets

_UPSERT_CHANNELS = """
INSERT INTO carsbot_channels (channel_id, username, title, is_active, in_sheet, sheet_row, synced_at, deactivated_at)
SELECT c.channel_id, c.username, c.title, c.active, true, c.row, $2::timestamptz,
       CASE WHEN c.active THEN NULL ELSE $2::timestamptz END
FROM jsonb_to_recordset($1::jsonb) AS c(channel_id bigint, username text, title text, active boolean, "row" int)
ON CONFLICT (channel_id) DO UPDATE SET
    username = EXCLUDED.username, title = EXCLUDED.title, is_active = EXCLUDED.is_active, in_sheet = true,
    sheet_row = EXCLUDED.sheet_row, synced_at = EXCLUDED.synced_at,
    deactivated_at = CASE WHEN EXCLUDED.is_active THEN NULL
                          ELSE coalesce(carsbot_channels.deactivated_at, EXCLUDED.synced_at) END
"""

_UPSERT_SUBSCRIBERS = """
INSERT INTO carsbot_subscribers (telegram_id, username, plan, expires_on, is_active, in_sheet, sheet_row, synced_at)
SELECT s.telegram_id, s.username, s.plan, s.expires_on, s.expires_on >= $3::date, true, s.row, $2::timestamptz
FROM jsonb_to_recordset($1::jsonb) AS s(telegram_id bigint, username text, plan text, expires_on date, "row" int)
ON CONFLICT (telegram_id) DO UPDATE SET
    username = EXCLUDED.username, plan = EXCLUDED.plan, expires_on = EXCLUDED.expires_on, in_sheet = true,
    sheet_row = EXCLUDED.sheet_row, synced_at = EXCLUDED.synced_at,
    -- a renewal (a later expiry than the one closed) reopens the subscription; otherwise closing stands
    is_active = CASE WHEN carsbot_subscribers.closed_for IS NOT NULL
                          AND EXCLUDED.expires_on <= carsbot_subscribers.closed_for THEN false
                     ELSE EXCLUDED.expires_on >= $3 END,
    closed_at = CASE WHEN EXCLUDED.expires_on > coalesce(carsbot_subscribers.closed_for, EXCLUDED.expires_on)
                     THEN NULL ELSE carsbot_subscribers.closed_at END,
    notified_at = CASE WHEN EXCLUDED.expires_on > coalesce(carsbot_subscribers.closed_for, EXCLUDED.expires_on)
                       THEN NULL ELSE carsbot_subscribers.notified_at END,
    closed_for = CASE WHEN EXCLUDED.expires_on > coalesce(carsbot_subscribers.closed_for, EXCLUDED.expires_on)
                      THEN NULL ELSE carsbot_subscribers.closed_for END
"""

_DEACTIVATE = {
    "carsbot_channels": "UPDATE carsbot_channels SET is_active = false, in_sheet = false, sheet_row = NULL, "
                        "deactivated_at = coalesce(deactivated_at, $2) "
                        "WHERE in_sheet AND NOT (channel_id = ANY($1::bigint[])) RETURNING channel_id",
    "carsbot_subscribers": "UPDATE carsbot_subscribers SET is_active = false, in_sheet = false, sheet_row = NULL, "
                           "synced_at = $2 "
                           "WHERE in_sheet AND NOT (telegram_id = ANY($1::bigint[])) RETURNING telegram_id",
}


async def _report(ctx: Ctx, tab: str, issues: list[SheetIssue]) -> None:
    """One open warning per distinct set of problems, so a sheet left garbled does not alert every minute."""
    if not issues:
        return
    lines = "; ".join(f"row {i.row}: {i.problem}" for i in issues[:20])
    digest = hashlib.sha1(lines.encode()).hexdigest()[:16]
    await ctx.alert("SHEET_ROWS_INVALID", "warning", f"Лист «{tab}»: строки с ошибками не синхронизированы — {lines}",
                    dedup_key=f"carsbot:sheet:{tab}:{digest}", tab=tab, issues=[i.as_json() for i in issues])


async def _locked(ctx: Ctx, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    name = ctx.spec.name if ctx.spec else "sync"
    lock = Lock(ctx.redis, SYNC_LOCK.format(job=name), timeout=ctx.spec.timeout if ctx.spec else 1800,
                blocking=False)
    if not await lock.acquire():
        ctx.log.info("sheet_sync_skipped", reason="already_running")
        return {"status": "skipped", "reason": "already_running"}
    try:
        return await run()
    finally:
        try:
            await lock.release()
        except Exception:  # noqa: BLE001 — the lock expired under a very slow run; nothing to release
            ctx.log.warning("sheet_sync_lock_lost")


async def _mirror(ctx: Ctx, tab: str, read: SheetRead, upsert: str, table: str, rows: list[dict[str, Any]],
                  *extra: Any) -> dict[str, Any]:
    await _report(ctx, tab, read.issues)
    issues = [i.as_json() for i in read.issues]
    if not read.usable:
        return {"status": "sheet_unusable", "upserted": 0, "deactivated": 0, "issues": issues}
    now = ctx.now()
    async with ctx.db.acquire() as conn, conn.transaction():
        await conn.execute(upsert, rows, now, *extra)
        gone = await conn.fetch(_DEACTIVATE[table], sorted(read.present), now)
    return {"status": "success", "upserted": len(rows), "deactivated": len(gone), "issues": issues}


@job(queue="sheets", manual=True)
async def sync_channels_task(ctx: Ctx) -> dict:
    """Channels sheet → carsbot_channels (seed 004, every minute). Idempotent: upserts by channel id."""
    async def run() -> dict[str, Any]:
        tab = ctx.settings.carsbot.channels_tab
        read = parse_channels(await sheets(ctx).read_tab(tab))
        rows = [{"channel_id": r.channel_id, "username": r.username, "title": r.title, "active": r.active,
                 "row": r.row} for r in read.rows]
        return await _mirror(ctx, tab, read, _UPSERT_CHANNELS, "carsbot_channels", rows)

    return await _locked(ctx, run)


@job(queue="sheets", manual=True)
async def sync_subscribers_task(ctx: Ctx) -> dict:
    """Subscribers sheet → carsbot_subscribers (seed 004, every 5 minutes). Idempotent: upserts by Telegram id;
    a closed subscription stays closed unless the sheet gives a later expiry, and a renewal after access was
    removed gets its invite link once (adolfd.workers.carsbot.reinvite)."""
    async def run() -> dict[str, Any]:
        tab = ctx.settings.carsbot.subscribers_tab
        read = parse_subscribers(await sheets(ctx).read_tab(tab))
        rows = [{"telegram_id": r.telegram_id, "username": r.username, "plan": r.plan,
                 "expires_on": r.expires_on.isoformat(), "row": r.row} for r in read.rows]
        result = await _mirror(ctx, tab, read, _UPSERT_SUBSCRIBERS, "carsbot_subscribers", rows,
                               ctx.now().date())
        if result["status"] == "success":
            result["reinvited"] = await reinvite_renewed(ctx)
        return result

    return await _locked(ctx, run)


_ANALYTICS = """
SELECT (p.received_at AT TIME ZONE 'UTC')::date AS day, p.channel_id, coalesce(c.title, '') AS title,
       count(*) AS received, count(*) FILTER (WHERE p.is_ad) AS ads,
       count(*) FILTER (WHERE p.status = 'published') AS published,
       count(*) FILTER (WHERE p.status = 'rejected') AS rejected
FROM carsbot_posts p LEFT JOIN carsbot_channels c USING (channel_id)
WHERE p.received_at >= $1
GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2
"""


@job(queue="sheets", manual=True)
async def update_analytics_task(ctx: Ctx) -> dict:
    """Posts received, ads found, published and rejected per channel and day (UTC) → the analytics tab, rewritten
    whole (seed 004, hourly). Running it twice writes the same tab."""
    now = ctx.now()
    since = (now - timedelta(days=ctx.settings.carsbot.analytics_days)).replace(hour=0, minute=0, second=0,
                                                                                microsecond=0)
    records = await ctx.db.fetch(_ANALYTICS, since)
    rows: list[list[Any]] = [list(ANALYTICS_HEADER)] + [
        [r["day"].isoformat(), str(r["channel_id"]), r["title"], r["received"], r["ads"], r["published"],
         r["rejected"]] for r in records]
    cells = await sheets(ctx).write_tab(ctx.settings.carsbot.analytics_tab, rows)
    return {"status": "success", "rows": len(records), "cells": cells}
