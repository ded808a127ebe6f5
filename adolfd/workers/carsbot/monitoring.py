"""Monitoring jobs (seed 004, queue monitoring): subscriptions at 00:00, stats every 15 minutes, clean-up at 03:00.

`check_subscriptions_task` closes each expired subscription once (one UPDATE, so two runs cannot both close
it), then tells the subscriber and removes them from the private channel, each once: the notice is claimed
(`notified_at`) before it is sent and released only when Telegram says it was not delivered (429, 5xx). A
subscriber who blocked the bot (403) is marked `blocked_at` and never written to again. The removal (ban, then
unban) is idempotent: any failure but a 400 (not a member) releases its claim for the next run.

Retention (docs/carsbot.md): finished posts (published, rejected, duplicate, skipped, failed) after
`posts_retention_days` (90), stats rows after `stats_retention_days` (30). ARQ keeps job results 24 h by itself.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from adolfd.clients.bot_api import (
    BotBadRequest,
    BotBadResponse,
    BotForbidden,
    BotNetworkError,
    BotRetryAfter,
    BotServerError,
)
from adolfd.domain.carsbot.subscriptions import expiry_notice
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.workers.carsbot.resources import carsbot_bot

FINISHED = ("published", "rejected", "duplicate", "skipped", "failed")

_CLOSE = """
UPDATE carsbot_subscribers SET is_active = false, closed_at = $2, closed_for = expires_on, invite_link = NULL,
       invited_at = NULL
WHERE expires_on < $1 AND closed_at IS NULL
RETURNING telegram_id
"""


async def _notify(ctx: Ctx, telegram_id: int) -> str:
    claimed = await ctx.db.fetchval(
        "UPDATE carsbot_subscribers SET notified_at = $2 WHERE telegram_id = $1 AND notified_at IS NULL "
        "AND blocked_at IS NULL AND closed_at IS NOT NULL RETURNING closed_for", telegram_id, ctx.now())
    if claimed is None:
        return "already"
    try:
        await carsbot_bot(ctx).send_message(telegram_id, expiry_notice(claimed))
    except BotForbidden:
        await ctx.db.execute("UPDATE carsbot_subscribers SET blocked_at = $2 WHERE telegram_id = $1",
                             telegram_id, ctx.now())
        return "blocked"
    except (BotRetryAfter, BotServerError, BotBadRequest) as exc:
        await ctx.db.execute("UPDATE carsbot_subscribers SET notified_at = NULL WHERE telegram_id = $1", telegram_id)
        ctx.log.warning("carsbot_notice_not_sent", telegram_id=telegram_id, error=type(exc).__name__)
        return "retry"
    return "sent"


async def _remove_access(ctx: Ctx, telegram_id: int) -> bool:
    channel = ctx.settings.carsbot.private_channel_id
    if not channel:
        return False
    claimed = await ctx.db.fetchval(
        "UPDATE carsbot_subscribers SET access_removed_at = $2 WHERE telegram_id = $1 AND access_removed_at IS NULL "
        "AND closed_at IS NOT NULL RETURNING true", telegram_id, ctx.now())
    if not claimed:
        return False
    bot = carsbot_bot(ctx)
    try:
        await bot.ban_chat_member(channel, telegram_id)          # removes the member …
        await bot.unban_chat_member(channel, telegram_id, only_if_banned=True)   # … and lets them rejoin if renewed
    except (BotRetryAfter, BotServerError, BotNetworkError, BotBadResponse) as exc:
        # ban and unban are idempotent, so whatever Telegram did, the next run may safely do them again
        await ctx.db.execute("UPDATE carsbot_subscribers SET access_removed_at = NULL WHERE telegram_id = $1",
                             telegram_id)
        ctx.log.warning("carsbot_access_not_removed", telegram_id=telegram_id, error=type(exc).__name__)
        return False
    except BotBadRequest:
        return True                                              # not a member (any more)
    return True


@job(queue="monitoring", manual=True)
async def check_subscriptions_task(ctx: Ctx) -> dict:
    """Close expired subscriptions, tell the subscriber, remove private-channel access (seed 004, 00:00 UTC).
    Each happens once per expiry, however often the job runs."""
    today = ctx.now().date()
    closed = [r["telegram_id"] for r in await ctx.db.fetch(_CLOSE, today, ctx.now())]
    pending = [r["telegram_id"] for r in await ctx.db.fetch(
        "SELECT telegram_id FROM carsbot_subscribers WHERE closed_at IS NOT NULL AND "
        "((notified_at IS NULL AND blocked_at IS NULL) OR access_removed_at IS NULL) ORDER BY telegram_id")]
    outcomes: dict[str, int] = {}
    removed = 0
    for telegram_id in pending:
        outcome = await _notify(ctx, telegram_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        removed += await _remove_access(ctx, telegram_id)
    return {"status": "success", "closed": len(closed), "notified": outcomes.get("sent", 0),
            "blocked": outcomes.get("blocked", 0), "to_retry": outcomes.get("retry", 0), "access_removed": removed}


def _slot(moment: datetime, minutes: int = 15) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % minutes, second=0, microsecond=0)


@job(queue="monitoring", manual=True)
async def collect_stats_task(ctx: Ctx) -> dict:
    """Queue depths and post counts by status into carsbot_stats (seed 004, every 15 minutes); one row per slot."""
    from adolfd.workers.carsbot import MODULE as CARSBOT

    depths: dict[str, Any] = {q.name: await ctx.redis.zcard(CARSBOT.queue_name(q.name)) for q in CARSBOT.queues}
    by_status = {r["status"]: r["n"] for r in await ctx.db.fetch(
        "SELECT status, count(*) AS n FROM carsbot_posts GROUP BY status ORDER BY status")}
    now = ctx.now()
    slot = _slot(ctx.fire_time or now)
    await ctx.db.execute(
        "INSERT INTO carsbot_stats (slot, queue_depths, posts_by_status, collected_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (slot) DO UPDATE SET queue_depths = EXCLUDED.queue_depths, "
        "posts_by_status = EXCLUDED.posts_by_status, collected_at = EXCLUDED.collected_at",
        slot, depths, by_status, now)
    return {"status": "success", "slot": slot.isoformat(), "queues": depths, "posts": by_status}


@job(queue="monitoring", manual=True, destructive="deletes finished posts and stats past their retention")
async def cleanup_old_results_task(ctx: Ctx) -> dict:
    """Delete finished posts and stats past their retention (seed 004, 03:00 UTC). Safe to repeat."""
    now, cfg = ctx.now(), ctx.settings.carsbot
    posts = await ctx.db.fetchval(
        "WITH gone AS (DELETE FROM carsbot_posts WHERE received_at < $1 AND status = ANY($2::text[]) RETURNING 1) "
        "SELECT count(*) FROM gone", now - timedelta(days=cfg.posts_retention_days), list(FINISHED))
    stats = await ctx.db.fetchval(
        "WITH gone AS (DELETE FROM carsbot_stats WHERE slot < $1 RETURNING 1) SELECT count(*) FROM gone",
        now - timedelta(days=cfg.stats_retention_days))
    return {"status": "success", "posts_deleted": posts, "stats_deleted": stats}
