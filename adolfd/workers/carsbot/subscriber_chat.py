"""The carsbot bot in subscribers' private chats: `/start` greets (and tells a stranger how to subscribe),
`/status` shows the plan and expiry date, and the invite link of a renewal if any (which then counts as sent).

Writing to the bot proves the subscriber no longer blocks it, so `/start` and `/status` lift `blocked_at`
(set when Telegram answered 403): messages to them resume with the next notice.
"""
from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from adolfd.domain.carsbot.subscriptions import greeting, status_text
from adolfd.engine.context import Ctx, Resources

MENU = (("start", "о боте и как подписаться"), ("status", "моя подписка: тариф и срок"))

_SEEN = """
UPDATE carsbot_subscribers SET blocked_at = NULL WHERE telegram_id = $1
RETURNING plan, expires_on, is_active, invite_link
"""


async def _status(message: Message, res: Resources, *, greet: bool) -> None:
    user_id = message.from_user.id if message.from_user else message.chat.id
    row = await res.db.fetchrow(_SEEN, user_id)
    today = Ctx(res).now().date()          # the same day the subscription jobs use
    parts = [greeting(user_id, known=row is not None)] if greet else []
    if row is not None or not greet:
        parts.append(status_text(row["plan"] if row else None, row["expires_on"] if row else None, today,
                                 bool(row and row["is_active"])))
    link = row["invite_link"] if row is not None and row["is_active"] else None
    if link:
        parts.append(f"Ссылка в закрытый канал: {link}")
    await message.answer(escape("\n\n".join(parts)))
    if link:      # delivered in this reply: the renewal sync does not send it again
        await res.db.execute("UPDATE carsbot_subscribers SET invited_at = coalesce(invited_at, $2) "
                             "WHERE telegram_id = $1 AND invite_link = $3", user_id, Ctx(res).now(), link)


async def start(message: Message, res: Resources) -> None:
    await _status(message, res, greet=True)


async def status(message: Message, res: Resources) -> None:
    await _status(message, res, greet=False)


async def help_text(message: Message) -> None:
    await message.answer("Команды: /start — о боте, /status — ваша подписка.")


def router() -> Router:
    r = Router(name="carsbot_subscribers")
    r.message.filter(F.chat.type == "private")
    r.message.register(start, Command("start"))
    r.message.register(status, Command("status"))
    r.message.register(help_text)
    return r
