"""`adolfd carsbot ACTION`: the operator's carsbot commands (adolfd.workers.carsbot.operator) from the shell;
`adolfd carsbot-bot`: the carsbot bot process (adolfd.workers.carsbot.channel_bot)."""
from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from adolfd.admin.shell import EXIT_USAGE, fail, with_resources
from adolfd.engine.module import Command
from adolfd.settings import Settings


def _args(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True)
    ingest = actions.add_parser("ingest", help="hand in channel posts: one Telegram Message JSON per line")
    ingest.add_argument("file", type=Path)
    posts = actions.add_parser("posts", help="posts by status")
    posts.add_argument("--status")
    posts.add_argument("--limit", type=int, default=20)
    for name, help_text in (("reprocess", "run the pipeline on a post again"), ("skip", "never publish a post"),
                            ("publish-now", "publish a post now")):
        actions.add_parser(name, help=help_text).add_argument("post_id", type=int)
    actions.add_parser("sync-now", help="sync channels and subscribers from the sheet now")
    actions.add_parser("expiring", help="subscriptions ending within 7 days")


def cmd_carsbot(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.context import Ctx
    from adolfd.workers.carsbot import operator

    async def go(res) -> int:
        ctx = Ctx(res)
        result: dict[str, Any] | list[dict[str, Any]]
        try:
            if args.action == "ingest":
                result = await operator.ingest_file(ctx, args.file)
            elif args.action == "posts":
                result = await operator.posts_by_status(ctx, args.status, args.limit)
            elif args.action == "reprocess":
                result = await operator.reprocess(ctx, args.post_id)
            elif args.action == "skip":
                result = await operator.skip(ctx, args.post_id)
            elif args.action == "publish-now":
                result = await operator.publish_now(ctx, args.post_id)
            elif args.action == "sync-now":
                result = await operator.sync_now(ctx)
            else:
                result = await operator.expiring_this_week(ctx)
        except (ValueError, OSError) as exc:
            return fail(str(exc), EXIT_USAGE)
        print(json.dumps(result, ensure_ascii=False, default=str))
        return 0

    return asyncio.run(with_resources(settings, go))




def cmd_carsbot_bot(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.workers.carsbot.channel_bot import run

    try:
        return asyncio.run(run(settings))
    except LookupError as exc:            # no or malformed token: a configuration error, not a crash
        return fail(str(exc), EXIT_USAGE)


COMMANDS = (
    Command("carsbot", "carsbot posts, syncs and subscriptions (docs/carsbot.md)", cmd_carsbot, _args),
    Command("carsbot-bot", "run the carsbot bot: source-channel posts in, subscribers' /start and /status "
                           "(long polling)", cmd_carsbot_bot),
)
