"""`adolfd bot | deliver-alerts`: the admin bot with alert delivery, and one delivery pass from the shell."""
from __future__ import annotations

import argparse
import asyncio
import json

from adolfd.admin.shell import EXIT_USAGE, fail, with_resources
from adolfd.engine.module import Command
from adolfd.settings import Settings


def cmd_bot(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.admin.bot.app import run

    try:
        return asyncio.run(run(settings))
    except LookupError as exc:            # no or malformed token: a configuration error, not a crash
        return fail(str(exc), EXIT_USAGE)


def cmd_deliver_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.admin.alert_delivery import deliver_pending
    from adolfd.clients.telegram import telegram_bot

    async def go(res) -> int:
        try:
            bot = telegram_bot(res)
        except LookupError as exc:
            return fail(str(exc), EXIT_USAGE)
        report = await deliver_pending(res.db, bot, settings, redis=res.redis)
        print(json.dumps(report.as_result(), ensure_ascii=False))
        return 0 if not report.failed_chats else 1

    return asyncio.run(with_resources(settings, go))


COMMANDS = (
    Command("bot", "run the Telegram admin bot and the alert delivery loop (long polling)", cmd_bot),
    Command("deliver-alerts", "one alert delivery pass now (what the bot does every few seconds)", cmd_deliver_alerts),
)
