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


def _alert_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("alert_id", type=int)
    p.add_argument("--by")


def _alert_action(resolve: bool):
    def cmd(args: argparse.Namespace, settings: Settings) -> int:
        import getpass
        from datetime import UTC, datetime

        from adolfd.admin.alerts import AlertRefused, acknowledge_alert, resolve_alert

        async def go(res) -> int:
            act = resolve_alert if resolve else acknowledge_alert
            try:
                done = await act(res.db, args.alert_id, by=f"cli:{args.by or getpass.getuser()}",
                                 now=datetime.now(UTC))
            except AlertRefused as exc:
                return fail(str(exc).strip("'\""), EXIT_USAGE)
            print(json.dumps(done, ensure_ascii=False))
            return 0

        return asyncio.run(with_resources(settings, go))

    return cmd


COMMANDS = (
    Command("bot", "run the Telegram admin bot and the alert delivery loop (long polling)", cmd_bot),
    Command("alert-ack", "mark an alert read (retention then deletes it with the module's read alerts)",
            _alert_action(False), _alert_args),
    Command("alert-resolve", "close an alert by hand", _alert_action(True), _alert_args),
    Command("deliver-alerts", "one alert delivery pass now (what the bot does every few seconds)", cmd_deliver_alerts),
)
