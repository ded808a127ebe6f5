"""`adolfd bot`: the admin bot (aiogram long polling) and the alert delivery loop, in one process.

Alerts go out from here (`adolfd.admin.alert_delivery`, every `ops.delivery_interval_seconds`): the process that
already owns the Telegram connection, one place to look when alerts stop, and a pass every few seconds rather
than once a minute. Under systemd it reports READY once polling starts and pings the watchdog while both the
polling and the delivery loop are alive; SIGTERM stops polling, lets the delivery pass in flight finish, and
exits.
"""
from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError

from adolfd.admin.alert_delivery import deliver_pending
from adolfd.admin.bot import access, jobs, system
from adolfd.admin.bot import alerts as alert_actions
from adolfd.clients.telegram import TelegramPacing, api_server, serve_until_signal, stop_polling
from adolfd.engine.context import Resources
from adolfd.modules import MODULES
from adolfd.process import sdnotify
from adolfd.settings import Settings

log = structlog.get_logger(__name__)


def build_dispatcher(settings: Settings, res: Resources) -> Dispatcher:
    """Admin routers behind the admin filter (private chats), then silence for groups, then the refusal for
    everyone else."""
    dp = Dispatcher(res=res)
    admin = access.admin_router(settings.ops.admin_ids)
    module_routers = [m.bot_router() for m in MODULES if m.bot_router is not None]
    admin.include_routers(system.router(), jobs.router(), alert_actions.router(), *module_routers,
                          system.fallback())
    dp.include_routers(admin, access.group_router(settings.ops.admin_ids), access.strangers_router())
    return dp


def build_bot(settings: Settings, res: Resources) -> Bot:
    session = AiohttpSession(api=api_server(settings))
    session.middleware(TelegramPacing(res.limiter, settings))
    token = settings.ops.bot_token.get_secret_value()
    if not token:
        raise LookupError("no Telegram bot token configured (ADOLFD_OPS__BOT_TOKEN or its credential file)")
    return Bot(token, session=session, default=DefaultBotProperties(
        parse_mode=ParseMode.HTML, link_preview_is_disabled=True))


async def delivery_loop(res: Resources, bot: Bot, stop: asyncio.Event) -> None:
    """Deliver pending alerts every interval until told to stop; a failed pass (database down) is logged and
    the next one tries again, so alerts wait rather than vanish."""
    interval = res.settings.ops.delivery_interval_seconds
    while not stop.is_set():
        try:
            await deliver_pending(res.db, bot, res.settings, now=res.clock.now(), redis=res.redis,
                                  time_budget=max(interval * 3, 30.0))
        except Exception as exc:  # noqa: BLE001 - keep delivering; the cause is in the log
            log.error("alert_delivery_pass_failed", error=f"{type(exc).__name__}: {exc}")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def prepare(bot: Bot) -> None:
    """Long polling needs no webhook; the command menu makes the bot usable from a phone."""
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await bot.set_my_commands(system.menu())
    except TelegramAPIError as exc:
        log.warning("bot_prepare_failed", error=f"{type(exc).__name__}: {exc.message}")


async def serve_bot(settings: Settings, res: Resources, *, stop: asyncio.Event | None = None) -> None:
    """Poll and deliver until `stop` is set (SIGTERM/SIGINT when run from the CLI)."""
    stop = stop or asyncio.Event()
    bot = build_bot(settings, res)
    dp = build_dispatcher(settings, res)
    if not settings.ops.admin_ids:
        log.warning("bot_without_admins", hint="set ADOLFD_OPS__ADMIN_IDS; every user is refused until then")
    await prepare(bot)
    polling = asyncio.create_task(dp.start_polling(
        bot, handle_signals=False, close_bot_session=False, polling_timeout=settings.ops.poll_timeout_seconds,
        allowed_updates=["message", "callback_query"]))
    delivery = asyncio.create_task(delivery_loop(res, bot, stop))
    watchdog = asyncio.create_task(sdnotify.watchdog_loop(lambda: not polling.done() and not delivery.done()))
    sdnotify.ready("polling Telegram, delivering alerts")
    log.info("bot_started", admins=len(settings.ops.admin_ids), alert_chats=len(settings.ops.alert_chats),
             started=datetime.now(UTC).isoformat())
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({polling, delivery, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stopper}:
            if task.exception():
                log.error("bot_component_crashed", error=repr(task.exception()))
    finally:
        sdnotify.stopping("stopping: finishing the alert pass in flight")
        stop.set()
        await stop_polling(dp, polling, bot, finishing=(delivery,), helpers=(watchdog, stopper))
        log.info("bot_stopped")


async def run(settings: Settings) -> int:
    return await serve_until_signal(settings, serve_bot)
