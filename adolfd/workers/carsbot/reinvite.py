"""A renewed subscriber back into the private channel (run by `sync_subscribers_task`, right after the sheet
mirror that saw the renewal).

At expiry `check_subscriptions_task` removed them (ban, then unban so they may come back). When the sheet gives
a later expiry, the sync reopens the subscription; then, once per renewal: `unbanChatMember` (only if banned)
and `createChatInviteLink` with `member_limit` 1 (a link for them alone, as the Bot API offers for a private
channel), stored in `invite_link` (clearing `access_removed_at`), then sent to them once — claimed in
`invited_at` before the send, released only when Telegram certainly did not take it (429, 5xx, 400). A
subscriber who blocked the bot (403) is marked `blocked_at` and not written to again; the link waits for them
in the bot's /start and /status. The next expiry's closing clears both columns.
"""
from __future__ import annotations

from typing import Any

from adolfd.clients.bot_api import (
    BotApi,
    BotBadRequest,
    BotBadResponse,
    BotForbidden,
    BotNetworkError,
    BotRetryAfter,
    BotServerError,
)
from adolfd.domain.carsbot.subscriptions import invite_text
from adolfd.engine.context import Ctx
from adolfd.workers.carsbot.resources import carsbot_bot

_RENEWED = """
SELECT telegram_id FROM carsbot_subscribers
WHERE is_active AND closed_at IS NULL AND access_removed_at IS NOT NULL AND invite_link IS NULL
ORDER BY telegram_id
"""

_STORE_LINK = """
UPDATE carsbot_subscribers SET invite_link = $2, access_removed_at = NULL, invited_at = NULL
WHERE telegram_id = $1 AND invite_link IS NULL AND access_removed_at IS NOT NULL
RETURNING true
"""

_TO_SEND = """
SELECT telegram_id FROM carsbot_subscribers
WHERE is_active AND invite_link IS NOT NULL AND invited_at IS NULL AND blocked_at IS NULL
ORDER BY telegram_id
"""

_CLAIM_SEND = """
UPDATE carsbot_subscribers SET invited_at = $2
WHERE telegram_id = $1 AND invite_link IS NOT NULL AND invited_at IS NULL AND blocked_at IS NULL
RETURNING invite_link, expires_on
"""

_TRANSIENT = (BotRetryAfter, BotServerError, BotNetworkError, BotBadResponse)


async def _open_door(ctx: Ctx, bot: BotApi, channel: int, telegram_id: int) -> bool:
    try:
        await bot.unban_chat_member(channel, telegram_id, only_if_banned=True)
        link = await bot.create_chat_invite_link(channel, name=f"renewal {telegram_id}"[:32], member_limit=1)
    except _TRANSIENT as exc:
        ctx.log.warning("carsbot_reinvite_later", telegram_id=telegram_id, error=type(exc).__name__)
        return False
    except (BotBadRequest, BotForbidden) as exc:
        await ctx.alert("REINVITE_FAILED", "high", f"Не удалось пригласить продлившего подписчика {telegram_id} "
                        f"в закрытый канал: {exc.description} (бот — администратор канала с правом приглашать?)",
                        dedup_key=f"carsbot:reinvite:{channel}:{exc.description[:60]}", telegram_id=telegram_id)
        return False
    return bool(await ctx.db.fetchval(_STORE_LINK, telegram_id, link))


async def _send_link(ctx: Ctx, bot: BotApi, telegram_id: int) -> str:
    claimed = await ctx.db.fetchrow(_CLAIM_SEND, telegram_id, ctx.now())
    if claimed is None:
        return "already"
    try:
        await bot.send_message(telegram_id, invite_text(claimed["invite_link"], claimed["expires_on"]))
    except BotForbidden:
        await ctx.db.execute("UPDATE carsbot_subscribers SET blocked_at = $2 WHERE telegram_id = $1",
                             telegram_id, ctx.now())
        return "blocked"
    except (BotNetworkError, BotBadResponse):
        return "unknown"          # may have arrived: not resent; the link is in /status anyway
    except (BotRetryAfter, BotServerError, BotBadRequest) as exc:
        await ctx.db.execute("UPDATE carsbot_subscribers SET invited_at = NULL WHERE telegram_id = $1", telegram_id)
        ctx.log.warning("carsbot_invite_not_sent", telegram_id=telegram_id, error=type(exc).__name__)
        return "retry"
    return "sent"


async def reinvite_renewed(ctx: Ctx) -> dict[str, Any]:
    """Links for subscribers renewed after their access was removed, each created and sent once."""
    channel = ctx.settings.carsbot.private_channel_id
    if not channel:
        return {"links": 0, "sent": 0}
    renewed = [r["telegram_id"] for r in await ctx.db.fetch(_RENEWED)]
    if not renewed and not await ctx.db.fetch(_TO_SEND):
        return {"links": 0, "sent": 0}          # the usual sync: no Telegram call at all
    bot = carsbot_bot(ctx)
    outcome: dict[str, int] = {"links": 0, "sent": 0}
    for telegram_id in renewed:
        outcome["links"] += await _open_door(ctx, bot, channel, telegram_id)
    for row in await ctx.db.fetch(_TO_SEND):
        sent = await _send_link(ctx, bot, row["telegram_id"])
        outcome[sent] = outcome.get(sent, 0) + 1
    return outcome
