"""Delivering the alerts of every module (table `alerts`) to Telegram chats; runs inside `adolfd bot`.

One pass (`deliver_pending`): route each undelivered alert to its chats (roles by the module's seed, brands,
modules: `adolfd.domain.alert_routing`) as rows of `alert_deliveries`; then, per chat, send the waiting alerts
as digests, most severe first, paced by the shared limiter (`adolfd.clients.telegram.TelegramPacing`), and
record each digest's message id on its rows at once. An alert is delivered when every row is. A failed send
leaves its rows waiting: Telegram down, 5xx or 429 → retried on the next pass (after `retry_after`); the chat
refusing (bot blocked, chat gone) → retried with a back-off up to an hour. Nothing is dropped.

Passes never overlap (a PostgreSQL advisory lock, so a CLI `adolfd deliver-alerts` and the bot, or two hosts,
cannot send the same digest twice). A send whose answer is lost or unreadable (timeout after Telegram acted, a
body that is not the Bot API's, crash before the row is written) is sent again on the next pass: at least once,
never lost.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from redis.asyncio import Redis

from adolfd.domain.alert_routing import Alert, AlertChat, recipients, render_digests, retry_delay
from adolfd.keys import ALERTS_LAST_PASS as LAST_PASS
from adolfd.settings import Settings

log = structlog.get_logger(__name__)

DELIVERY_LOCK = 0x4AD0A1          # advisory lock: one delivery pass at a time, across processes and hosts
CHAT_CONCURRENCY = 8

_UNDELIVERED = """
SELECT id, module, alert_type, severity, brand_id, message, created_at, resolved_at IS NOT NULL AS resolved, details
FROM alerts WHERE delivered_at IS NULL ORDER BY id LIMIT $1
"""
_ROUTE = """
INSERT INTO alert_deliveries (alert_id, chat_id, created_at, next_attempt_at)
SELECT alert_id, chat_id, $3, $3 FROM unnest($1::bigint[], $2::bigint[]) AS r (alert_id, chat_id)
ON CONFLICT (alert_id, chat_id) DO NOTHING
"""
_NOBODY = """
UPDATE alerts a SET delivered_at = $2
WHERE a.id = ANY($1::bigint[]) AND a.delivered_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id)
"""
_DUE = """
SELECT d.chat_id, a.id, a.module, a.alert_type, a.severity, a.brand_id, a.message, a.created_at,
       a.resolved_at IS NOT NULL AS resolved, a.details
FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
WHERE d.delivered_at IS NULL AND d.next_attempt_at <= $1
ORDER BY d.chat_id, a.id
LIMIT $2
"""
_SENT = """
UPDATE alert_deliveries SET delivered_at = $3, message_id = $4, attempts = attempts + 1, last_error = NULL
WHERE chat_id = $1 AND alert_id = ANY($2::bigint[]) AND delivered_at IS NULL
"""
_FAILED = """
UPDATE alert_deliveries SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4
WHERE chat_id = $1 AND alert_id = ANY($2::bigint[]) AND delivered_at IS NULL
RETURNING attempts
"""
_HOLD_CHAT = """
UPDATE alert_deliveries SET next_attempt_at = greatest(next_attempt_at, $2)
WHERE chat_id = $1 AND delivered_at IS NULL
"""
_COUNT_ATTEMPT = "UPDATE alerts SET delivery_attempts = delivery_attempts + 1 WHERE id = ANY($1::bigint[])"
_CLOSE = """
UPDATE alerts a SET delivered_at = $1
WHERE a.delivered_at IS NULL
  AND EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id)
  AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND d.delivered_at IS NULL)
RETURNING a.id
"""


@dataclass
class DeliveryReport:
    skipped: bool = False
    routed: int = 0                 # (alert, chat) rows created this pass
    unrouted: int = 0               # alerts no configured chat receives (closed without a message)
    messages: int = 0               # Telegram messages sent
    delivered: int = 0              # (alert, chat) rows delivered
    closed: int = 0                 # alerts now delivered everywhere
    deferred: int = 0               # rows left for a later pass (failure, pacing, time budget)
    failed_chats: dict[int, str] = field(default_factory=dict)

    def as_result(self) -> dict[str, Any]:
        if self.skipped:
            return {"status": "skipped", "reason": "another delivery pass is running"}
        return {"status": "success", "routed": self.routed, "unrouted": self.unrouted, "messages": self.messages,
                "delivered": self.delivered, "alerts_closed": self.closed, "deferred": self.deferred,
                "failed_chats": {str(k): v for k, v in self.failed_chats.items()}}


_USER_CHATS = """
SELECT telegram_chat_id, role, brand_id FROM users
WHERE is_active AND telegram_chat_id IS NOT NULL ORDER BY id
"""


def alert_chats(settings: Settings) -> list[AlertChat]:
    return [AlertChat(chat_id=c.chat_id, role=c.role, brand=c.brand, modules=frozenset(c.modules),
                      min_severity=c.min_severity) for c in settings.ops.alert_chats]


async def delivery_chats(db: asyncpg.Pool, settings: Settings) -> list[AlertChat]:
    """Who receives alerts: the people in `users` with a Telegram chat (role and brand, the seeds' `User`) and
    the group chats of `ADOLFD_OPS__ALERT_CHATS`. The seed's role `administrator` is the chats' `admin`."""
    people = [AlertChat(chat_id=r["telegram_chat_id"], role="admin" if r["role"] == "administrator" else r["role"],
                        brand=r["brand_id"]) for r in await db.fetch(_USER_CHATS)]
    return alert_chats(settings) + people


def _alert(row: asyncpg.Record) -> Alert:
    return Alert(id=row["id"], module=row["module"], alert_type=row["alert_type"], severity=row["severity"],
                 message=row["message"], created_at=row["created_at"], brand_id=row["brand_id"],
                 resolved=row["resolved"], details=row["details"] or {})


def _describe(exc: TelegramAPIError | ClientDecodeError, token: str) -> str:
    text = f"{type(exc).__name__}: {exc.message}"
    return text.replace(token, "***") if token else text


def _is_transient(exc: TelegramAPIError | ClientDecodeError) -> bool:
    """Telegram down, busy or answering something unreadable: the next pass tries again."""
    return isinstance(exc, (TelegramNetworkError, TelegramServerError, RestartingTelegram, TelegramRetryAfter,
                            ClientDecodeError))


async def route_undelivered(db: asyncpg.Pool, chats: list[AlertChat], *, now: datetime, batch: int,
                            report: DeliveryReport) -> None:
    rows = await db.fetch(_UNDELIVERED, batch)
    pairs = [(row["id"], chat_id) for row in rows for chat_id in recipients(_alert(row), chats)]
    if pairs:
        result = await db.execute(_ROUTE, [a for a, _ in pairs], [c for _, c in pairs], now)
        report.routed = int(result.split()[-1])
    routed_ids = {a for a, _ in pairs}
    nobody = [row["id"] for row in rows if row["id"] not in routed_ids]
    if nobody:
        result = await db.execute(_NOBODY, nobody, now)
        report.unrouted = int(result.split()[-1])
        if report.unrouted:
            log.info("alerts_unrouted", count=report.unrouted,
                     types=sorted({f"{r['module']}.{r['alert_type']}:{r['severity']}" for r in rows
                                   if r["id"] in set(nobody)}))


async def _deliver_chat(db: asyncpg.Pool, bot: Bot, settings: Settings, chat_id: int, alerts: list[Alert], *,
                        now: datetime, deadline: float, report: DeliveryReport) -> None:
    loop = asyncio.get_running_loop()
    digests = render_digests(alerts, now, settings.tz)
    token = settings.ops.bot_token.get_secret_value()
    for n, digest in enumerate(digests):
        if loop.time() >= deadline:
            report.deferred += sum(len(d.alert_ids) for d in digests[n:])
            log.info("alert_delivery_deferred", chat_id=chat_id, digests=len(digests) - n, reason="time budget")
            return
        ids = list(digest.alert_ids)
        try:
            markup = InlineKeyboardMarkup(inline_keyboard=[
                [InlineKeyboardButton(text=text, callback_data=data)] for text, data in digest.buttons]) \
                if digest.buttons else None
            sent = await bot.send_message(chat_id, digest.text, parse_mode="HTML", reply_markup=markup,
                                          link_preview_options=LinkPreviewOptions(is_disabled=True))
        except TelegramUnauthorizedError:
            raise
        except (TelegramAPIError, ClientDecodeError) as exc:
            transient = _is_transient(exc)
            error = _describe(exc, token)
            retry_after = exc.retry_after if isinstance(exc, TelegramRetryAfter) else None
            async with db.acquire() as conn, conn.transaction():
                attempts = await conn.fetchval(_FAILED, chat_id, ids, error[:500], now)
                delay = retry_delay(attempts or 1, permanent=not transient, retry_after=retry_after)
                hold_until = now + timedelta(seconds=delay)
                await conn.execute(_HOLD_CHAT, chat_id, hold_until)
                await conn.execute(_COUNT_ATTEMPT, ids)
            report.failed_chats[chat_id] = error
            report.deferred += sum(len(d.alert_ids) for d in digests[n:])
            log_event = log.warning if transient else log.error
            log_event("alert_delivery_failed", chat_id=chat_id, alerts=len(ids), error=error, attempts=attempts,
                      retry_in=delay)
            return
        result = await db.execute(_SENT, chat_id, ids, now, sent.message_id)
        report.messages += 1
        report.delivered += int(result.split()[-1])
        log.info("alert_digest_sent", chat_id=chat_id, alerts=len(ids), message_id=sent.message_id)


async def deliver_pending(db: asyncpg.Pool, bot: Bot, settings: Settings, *, now: datetime | None = None,
                          time_budget: float = 60.0, redis: Redis | None = None) -> DeliveryReport:
    """One delivery pass; safe to run from several processes at once (only one does the work)."""
    report = DeliveryReport()
    chats = await delivery_chats(db, settings)
    if not chats:
        log.warning("alert_delivery_unconfigured",
                    hint="give users a telegram_chat_id or set ADOLFD_OPS__ALERT_CHATS; alerts wait until then")
        return report
    now = now or datetime.now(UTC)
    deadline = asyncio.get_running_loop().time() + time_budget
    async with db.acquire() as lock_conn:
        if not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", DELIVERY_LOCK):
            report.skipped = True
            return report
        try:
            await route_undelivered(db, chats, now=now, batch=settings.ops.delivery_batch, report=report)
            due = await db.fetch(_DUE, now, settings.ops.delivery_batch * 10)
            by_chat: dict[int, list[Alert]] = {}
            for row in due:
                by_chat.setdefault(row["chat_id"], []).append(_alert(row))
            gate = asyncio.Semaphore(CHAT_CONCURRENCY)

            async def one_chat(chat_id: int, alerts: list[Alert]) -> None:
                async with gate:
                    await _deliver_chat(db, bot, settings, chat_id, alerts, now=now, deadline=deadline,
                                        report=report)

            try:
                await asyncio.gather(*(one_chat(c, a) for c, a in by_chat.items()))
            except TelegramUnauthorizedError:
                log.error("alert_delivery_unauthorized", hint="the Telegram bot token is wrong or revoked")
                report.failed_chats[0] = "TelegramUnauthorizedError: bot token rejected"
            report.closed = len(await db.fetch(_CLOSE, now))
        finally:
            await lock_conn.execute("SELECT pg_advisory_unlock($1)", DELIVERY_LOCK)
    if redis is not None:
        await redis.set(LAST_PASS, json.dumps({"at": now.isoformat(), **report.as_result()}), ex=86400)
    if report.messages or report.failed_chats or report.unrouted:
        log.info("alert_delivery_pass", **report.as_result())
    return report


async def alert_status(redis: Redis, db: asyncpg.Pool | None) -> dict[str, Any]:
    """`adolfd status` / `/status` section: what waits, which chats fail, when the bot last delivered."""
    raw = await redis.get(LAST_PASS)
    last = json.loads(raw) if raw else None
    out: dict[str, Any] = {"last_pass": last and last.get("at")}
    if db is None:
        return out
    row = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE delivered_at IS NULL) AS undelivered, "
        "min(created_at) FILTER (WHERE delivered_at IS NULL) AS oldest, "
        "count(*) FILTER (WHERE created_at > now() - interval '24 hours') AS last_24h, "
        "count(*) FILTER (WHERE created_at > now() - interval '24 hours' AND severity IN ('high', 'critical')) "
        "AS severe_24h FROM alerts")
    failing = await db.fetch(
        "SELECT chat_id, count(*) AS waiting, max(attempts) AS attempts, "
        "(array_agg(last_error ORDER BY next_attempt_at DESC))[1] AS error "
        "FROM alert_deliveries WHERE delivered_at IS NULL AND attempts > 0 GROUP BY chat_id ORDER BY chat_id")
    out.update(undelivered=row["undelivered"], oldest_undelivered=row["oldest"], last_24h=row["last_24h"],
               severe_24h=row["severe_24h"],
               failing_chats=[{"chat_id": r["chat_id"], "waiting": r["waiting"], "attempts": r["attempts"],
                               "error": r["error"]} for r in failing])
    return out

