"""`adolfd carsbot-bot`: the carsbot bot (its own token, `ADOLFD_CARSBOT__BOT_TOKEN`), aiogram long polling.

It is an admin of every source channel, so Telegram sends it each post as `channel_post` (and edits as
`edited_channel_post`); each goes through `pipeline.store_post`, the one intake (stored once per channel and
message id, album parts merged by `media_group_id`, channels not active in the channels sheet ignored with a
log line). Subscribers talk to it in private chats (`subscriber_chat`). Exactly one process per token:
Telegram answers 409 Conflict to a second poller.

A post that cannot be stored (the database is down) is retried in its handler with a doubling pause for about
a minute, then logged whole as `carsbot_post_lost` with its Message JSON, which `adolfd carsbot ingest`
accepts as a line: Telegram does not resend an update once the next poll has confirmed it.
"""
from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, Message
from aiogram.utils.token import TokenValidationError

from adolfd.clients.telegram import TelegramPacing, api_server, serve_until_signal, stop_polling
from adolfd.engine.context import Ctx, Resources
from adolfd.process import sdnotify
from adolfd.settings import Settings
from adolfd.workers.carsbot import subscriber_chat
from adolfd.workers.carsbot.pipeline import BadPost, store_post

log = structlog.get_logger(__name__)

ALLOWED_UPDATES = ["message", "channel_post", "edited_channel_post"]
STORE_PAUSES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)     # about a minute of database outage is absorbed


def message_json(message: Message) -> dict[str, Any]:
    """The Bot API `Message` object again (aliases such as `from`, `date` as Unix time), as the ingest takes it."""
    raw = message.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    raw["date"] = int(message.date.timestamp())
    raw["chat"] = {**raw.get("chat", {}), "id": message.chat.id}
    raw["message_id"] = message.message_id
    return raw


async def _store(res: Resources, message: Message, *, edited: bool) -> None:
    body = message_json(message)
    for pause in (*STORE_PAUSES, None):
        try:
            outcome = await store_post(Ctx(res), body, edited=edited)
        except BadPost as exc:
            log.warning("carsbot_post_unreadable", chat_id=message.chat.id, message_id=message.message_id,
                        error=str(exc))
            return
        except Exception as exc:  # noqa: BLE001 — database or Redis down: wait, then keep the post in the log
            if pause is None:
                log.error("carsbot_post_lost", chat_id=message.chat.id, message_id=message.message_id,
                          error=f"{type(exc).__name__}: {exc}", message=body,
                          hint="hand it in with `adolfd carsbot ingest` once the store is back")
                return
            log.warning("carsbot_post_store_retry", chat_id=message.chat.id, message_id=message.message_id,
                        retry_in=pause, error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(pause)
            continue
        if outcome["status"] == "ignored":
            log.info("carsbot_post_ignored", chat_id=message.chat.id, message_id=message.message_id,
                     reason=outcome["reason"])
        else:
            log.info("carsbot_post_received", chat_id=message.chat.id, message_id=message.message_id,
                     media_group_id=message.media_group_id, **outcome)
        return


async def on_channel_post(message: Message, res: Resources) -> None:
    await _store(res, message, edited=False)


async def on_edited_channel_post(message: Message, res: Resources) -> None:
    await _store(res, message, edited=True)


def channel_router() -> Router:
    r = Router(name="carsbot_channels")
    r.channel_post.register(on_channel_post)
    r.edited_channel_post.register(on_edited_channel_post)
    return r


def build_dispatcher(res: Resources) -> Dispatcher:
    dp = Dispatcher(res=res)
    dp.include_routers(channel_router(), subscriber_chat.router())
    return dp


def build_bot(settings: Settings, res: Resources) -> Bot:
    token = settings.carsbot.bot_token.get_secret_value()
    if not token:
        raise LookupError("no carsbot bot token configured (ADOLFD_CARSBOT__BOT_TOKEN or its credential file)")
    session = AiohttpSession(api=api_server(settings))
    session.middleware(TelegramPacing(res.limiter, settings))
    try:
        return Bot(token, session=session, default=DefaultBotProperties(
            parse_mode=ParseMode.HTML, link_preview_is_disabled=True))
    except TokenValidationError as exc:
        raise LookupError("the carsbot bot token is malformed (expected <bot id>:<secret>)") from exc


async def prepare(bot: Bot) -> None:
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await bot.set_my_commands([BotCommand(command=c, description=d) for c, d in subscriber_chat.MENU])
    except TelegramAPIError as exc:
        log.warning("carsbot_bot_prepare_failed", error=f"{type(exc).__name__}: {exc.message}")


async def serve_carsbot_bot(settings: Settings, res: Resources, *, stop: asyncio.Event | None = None) -> None:
    """Poll until `stop` is set (SIGTERM/SIGINT from the CLI); handlers in flight finish first."""
    stop = stop or asyncio.Event()
    bot = build_bot(settings, res)
    dp = build_dispatcher(res)
    await prepare(bot)
    polling = asyncio.create_task(dp.start_polling(
        bot, handle_signals=False, close_bot_session=False, polling_timeout=settings.ops.poll_timeout_seconds,
        allowed_updates=ALLOWED_UPDATES))
    watchdog = asyncio.create_task(sdnotify.watchdog_loop(lambda: not polling.done()))
    sdnotify.ready("polling Telegram for channel posts and subscribers")
    log.info("carsbot_bot_started")
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({polling, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if polling.done() and polling.exception():
            log.error("carsbot_bot_crashed", error=repr(polling.exception()))
    finally:
        sdnotify.stopping("stopping: finishing the updates in flight")
        await stop_polling(dp, polling, bot, helpers=(watchdog, stopper))
        log.info("carsbot_bot_stopped")


async def run(settings: Settings) -> int:

    if not settings.carsbot.bot_token.get_secret_value():
        raise LookupError("no carsbot bot token configured (ADOLFD_CARSBOT__BOT_TOKEN or its credential file)")
    return await serve_until_signal(settings, serve_carsbot_bot)
