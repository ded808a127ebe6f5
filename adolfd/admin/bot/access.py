"""Who may command the bot: the configured admin user ids (`ADOLFD_OPS__ADMIN_IDS`), nobody else.

`AdminFilter` guards the admin router (and every feature router inside it). Anyone else lands in the
`strangers` router: the attempt is logged every time, and they get one polite refusal (remembered for a week
in Redis, so a stranger cannot make the bot spam a chat). Admin commands are logged too, with who sent them.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from aiogram import BaseMiddleware, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject

from adolfd.engine.context import Resources
from adolfd.keys import BOT_REFUSED as REFUSED_KEY

log = structlog.get_logger(__name__)

REFUSAL_MEMORY_SECONDS = 7 * 86400
REFUSAL = "Sorry, this bot only answers the adolfd operators. This attempt has been logged."


class AdminFilter(Filter):
    def __init__(self, admin_ids: Iterable[int]) -> None:
        self.admin_ids = frozenset(admin_ids)

    async def __call__(self, event: Message | CallbackQuery) -> bool:
        return event.from_user is not None and event.from_user.id in self.admin_ids


class AuditLog(BaseMiddleware):
    """One log line per admin command: who, where, what (arguments are never secrets here)."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and event.from_user is not None:
            log.info("bot_command", user_id=event.from_user.id, username=event.from_user.username,
                     chat_id=event.chat.id, text=(event.text or "")[:200])
        elif isinstance(event, CallbackQuery):
            log.info("bot_button", user_id=event.from_user.id, username=event.from_user.username,
                     data=(event.data or "")[:64])
        return await handler(event, data)


def admin_router(admin_ids: Iterable[int]) -> Router:
    router = Router(name="admin")
    router.message.filter(AdminFilter(admin_ids))
    router.message.middleware(AuditLog())
    router.callback_query.filter(AdminFilter(admin_ids))      # inline-keyboard buttons: admins only too
    router.callback_query.middleware(AuditLog())
    return router


async def refuse(message: Message, res: Resources) -> None:
    user = message.from_user
    user_id = user.id if user else 0
    log.warning("bot_access_denied", user_id=user_id, username=user.username if user else None,
                chat_id=message.chat.id, text=(message.text or "")[:64])
    first_time = await res.redis.set(REFUSED_KEY.format(user_id=user_id), 1, nx=True, ex=REFUSAL_MEMORY_SECONDS)
    if first_time:
        await message.answer(REFUSAL)


async def refuse_button(query: CallbackQuery) -> None:
    log.warning("bot_access_denied", user_id=query.from_user.id, username=query.from_user.username,
                data=(query.data or "")[:64])
    await query.answer(REFUSAL[:200], show_alert=True)


def strangers_router() -> Router:
    """After the admin router: everyone the admin filter turned away."""
    r = Router(name="strangers")
    r.message.register(refuse)
    r.callback_query.register(refuse_button)
    return r
