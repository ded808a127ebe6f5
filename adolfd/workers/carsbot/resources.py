"""What carsbot jobs share within one worker process: the carsbot bot, the sheets client, the LLM provider."""
from __future__ import annotations

from adolfd.clients.bot_api import BotApi, worker_bot
from adolfd.clients.llm import LLMProvider, worker_provider
from adolfd.clients.sheets import SheetsClient
from adolfd.engine.context import Ctx


def carsbot_bot(ctx: Ctx) -> BotApi:
    """The carsbot bot (its own token, not the admin bot's): channel posts and subscriber messages."""
    token = ctx.settings.carsbot.bot_token.get_secret_value()
    if not token:
        raise LookupError("no carsbot bot token configured (ADOLFD_CARSBOT__BOT_TOKEN or its credential file)")
    return worker_bot(ctx.res, token, "carsbot")


def sheets(ctx: Ctx) -> SheetsClient:
    client = ctx.res.sheets
    if client is None:
        settings = ctx.settings
        client = ctx.res.sheets = SheetsClient.build(
            settings.carsbot, settings.http, ctx.limiter, lambda kind: settings.rate_limit("google_sheets", kind))
    return client


def llm(ctx: Ctx) -> LLMProvider:
    return worker_provider(ctx.res)
