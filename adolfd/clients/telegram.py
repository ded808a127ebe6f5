"""The aiogram `Bot` of a process, paced to Telegram's limits across every process and host.

Telegram's Bot FAQ: about one message per second per chat (short bursts tolerated), 20 per minute per group,
about 30 per second overall. `TelegramPacing` takes a slot from the shared Redis limiter
(`telegram:<chat>:chat|group` and `telegram:<bot>:default`, limits in `settings.DEFAULT_RATE_LIMITS`) before
each message, so the bot's replies, alert digests and channel posts from any process add up within them; a
429 still pushes that chat's slot out by its `retry_after`.

Worker jobs do not use this module: they send through `adolfd.clients.bot_api` (same URL, pacing and limits,
without aiogram's import cost). `paced_bot` runs a Bot over the process's shared httpx client (`HttpxSession`),
so it needs no connection of its own and is closed with the other resources; the long-polling bot processes use
aiogram's own `AiohttpSession` (`adolfd.admin.bot.app`).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import httpx
from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.utils.token import TokenValidationError

from adolfd.clients.bot_api import PACED_PREFIXES, chat_class, chat_key, pace_message
from adolfd.clients.ratelimit import RateLimiter
from adolfd.settings import Settings

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

__all__ = ["HttpxSession", "TelegramPacing", "api_server", "chat_class", "make_bot", "paced_bot", "telegram_bot"]


def api_server(settings: Settings) -> TelegramAPIServer:
    """Bot API URL patterns from `settings.api_urls.telegram` (the real server or the sandbox)."""
    return TelegramAPIServer.from_base(settings.api_urls.telegram)


def make_bot(settings: Settings, session: BaseSession) -> Bot:
    token = settings.ops.bot_token.get_secret_value()
    if not token:
        raise LookupError("no Telegram bot token configured (ADOLFD_OPS__BOT_TOKEN or its credential file)")
    try:
        return Bot(token, session=session)
    except TokenValidationError as exc:
        raise LookupError("the configured Telegram bot token is malformed (expected <bot id>:<secret>)") from exc


class TelegramPacing(BaseRequestMiddleware):
    """Waits for the shared per-chat and global slots before every outgoing message."""

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.settings = settings

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        chat_id = getattr(method, "chat_id", None)
        if chat_id is None or not method.__api_method__.startswith(PACED_PREFIXES):
            return await make_request(bot, method)
        await pace_message(self.limiter, self.settings, bot.id, chat_id)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            await self.limiter.penalise(chat_key(chat_id), exc.retry_after,
                                        self.settings.rate_limit("telegram", chat_class(chat_id)))
            raise


class HttpxSession(BaseSession):
    """aiogram session over a shared `httpx.AsyncClient` (same form encoding as aiogram's AiohttpSession)."""

    def __init__(self, client: httpx.AsyncClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
                           ) -> TelegramType:
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        files: dict[str, Any] = {}
        data: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:
                data[key] = prepared
        uploads = {key: (file.filename or key, b"".join([chunk async for chunk in file.read(bot)]))
                   for key, file in files.items()}
        try:
            response = await self.client.post(url, data=data, files=uploads or None,
                                              timeout=self.timeout if timeout is None else timeout)
        except httpx.TimeoutException as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except httpx.HTTPError as exc:
            # never the URL: it carries the token
            raise TelegramNetworkError(method=method, message=type(exc).__name__) from exc
        checked = self.check_response(bot=bot, method=method, status_code=response.status_code,
                                      content=response.text)
        return checked.result  # type: ignore[return-value]  # aiogram: Response.result is Optional for error replies, which check_response raised for

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True
                             ) -> AsyncGenerator[bytes, None]:
        async with self.client.stream("GET", url, headers=headers or {}, timeout=timeout) as response:
            if raise_for_status:
                response.raise_for_status()
            async for chunk in response.aiter_bytes(chunk_size):
                yield chunk

    async def close(self) -> None:
        """The httpx client belongs to the process's resources and is closed with them."""


def paced_bot(res: Resources, token: str, purpose: str) -> Bot:
    """A Bot over this process's shared httpx client and shared pacing, built once per purpose."""
    bot = res.bots.get(purpose)
    if bot is None:
        session = HttpxSession(res.http_for("telegram"), api=api_server(res.settings),
                               timeout=res.settings.http.timeout)
        session.middleware(TelegramPacing(res.limiter, res.settings))
        try:
            bot = res.bots[purpose] = Bot(token, session=session)
        except TokenValidationError as exc:
            raise LookupError("the configured Telegram bot token is malformed (expected <bot id>:<secret>)") from exc
    return bot


def telegram_bot(res: Resources) -> Bot:
    """This process's admin Bot (alerts, notifications), built on first use."""
    token = res.settings.ops.bot_token.get_secret_value()
    if not token:
        raise LookupError("no Telegram bot token configured (ADOLFD_OPS__BOT_TOKEN or its credential file)")
    return paced_bot(res, token, "admin")


async def stop_polling(dp: Dispatcher, polling: asyncio.Task[Any], bot: Bot, *,
                       finishing: tuple[asyncio.Task[Any], ...] = (),
                       helpers: tuple[asyncio.Task[Any], ...] = ()) -> None:
    """A long-polling bot's stop: aiogram ends its poll (handlers in flight finish; cancelled if it never started
    or is stuck), the `finishing` tasks end by themselves, the `helpers` are cancelled, and the session closes."""
    if not polling.done():
        try:
            await asyncio.wait_for(dp.stop_polling(), 10)
        except (TimeoutError, RuntimeError):     # not started yet, or stuck: cancel it
            polling.cancel()
    await asyncio.gather(polling, *finishing, return_exceptions=True)
    for task in helpers:
        task.cancel()
    await asyncio.gather(*helpers, return_exceptions=True)
    await bot.session.close()


async def serve_until_signal(settings: Settings, serve: Any) -> int:
    """A long-polling bot process: shared resources, `serve(settings, res, stop=…)` until SIGTERM/SIGINT, then the
    resources closed. aiogram's per-update INFO lines are muted: adolfd logs who did what itself."""
    import logging
    import signal

    from adolfd.process.resources import build_resources, close_resources

    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    res = await build_resources(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(settings, res, stop=stop)
    finally:
        await close_resources(res)
    return 0
