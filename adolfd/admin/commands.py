"""Module subcommands of `adolfd` (platform.md "CLI"): each module's section registers its commands with
`@command` on import; `adolfd.admin.cli` imports this file at start."""
from __future__ import annotations

import argparse
import asyncio
import json

from adolfd.admin.cli import EXIT_USAGE, _with_resources, command, fail
from adolfd.settings import Settings

# -- reputation (seed 003): approve, skip, redraft, list ------------------------------------------------------
# Importing from the worker package also registers its `breakers` section of `adolfd status`.
from adolfd.workers.reputation import approval  # noqa: E402


def _approve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("item_id", type=int)
    p.add_argument("--text", help="publish this text instead of the draft")
    p.add_argument("--by", default="cli", help="who approves (recorded with the reply)")


@command("approve", "approve a reply pending review; its send_response is enqueued once", _approve_args)
def cmd_approve(args: argparse.Namespace, settings: Settings) -> int:
    async def go(res) -> int:
        try:
            result = await approval.approve(res.db, res.redis, args.item_id, by=args.by, text=args.text)
        except (LookupError, ValueError) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    return asyncio.run(_with_resources(settings, go))


def _skip_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("item_id", type=int)
    p.add_argument("--by", default="cli")


@command("skip", "leave a review or question unanswered on purpose", _skip_args)
def cmd_skip(args: argparse.Namespace, settings: Settings) -> int:
    async def go(res) -> int:
        try:
            result = await approval.skip(res.db, args.item_id, by=args.by)
        except (LookupError, ValueError) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    return asyncio.run(_with_resources(settings, go))


def _regenerate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("item_id", type=int)
    p.add_argument("instructions", help="what to change, e.g. 'короче' or 'добавь «…»'")


@command("regenerate", "redraft a reply with instructions (it then needs approval again)", _regenerate_args)
def cmd_regenerate(args: argparse.Namespace, settings: Settings) -> int:
    async def go(res) -> int:
        try:
            result = await approval.request_regeneration(res.db, res.redis, args.item_id, args.instructions)
        except (LookupError, ValueError) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    return asyncio.run(_with_resources(settings, go))


def _reviews_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", default="pending_review", help="item status (default pending_review)")
    p.add_argument("--limit", type=int, default=20)


@command("reviews", "reviews and questions by status, with their drafts", _reviews_args)
def cmd_reviews(args: argparse.Namespace, settings: Settings) -> int:
    async def go(res) -> int:
        rows = await approval.list_items(res.db, args.status, args.limit)
        for r in rows:
            stars = f" {r['rating']}★" if r["rating"] else ""
            print(f"#{r['id']} {r['platform']} {r['item_type']}{stars} [{r['brand_id']}] {r['text'][:120]!r}")
            if r["draft"]:
                print(f"    → {r['draft']}")
        if not rows:
            print(f"no items in status {args.status}")
        return 0

    return asyncio.run(_with_resources(settings, go))


# -- operations: the admin bot and alert delivery (docs/operations.md) ---------------------------------------
# The `bids` (kill switch) section of `adolfd status` registers on import; the `alerts` section is loaded
# only when status is asked for, since alert delivery pulls in aiogram (seconds of start-up for every command).
import adolfd.workers.marketing.kill_switch  # noqa: E402,F401
from adolfd.admin import status as _status  # noqa: E402


async def _alerts_section(redis, db):
    from adolfd.admin.alert_delivery import alert_status

    return await alert_status(redis, db)


_status.SECTIONS.setdefault("alerts", _alerts_section)

@command("bot", "run the Telegram admin bot and the alert delivery loop (long polling)")
def cmd_bot(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.admin.bot.app import run

    try:
        return asyncio.run(run(settings))
    except LookupError as exc:            # no or malformed token: a configuration error, not a crash
        return fail(str(exc), EXIT_USAGE)


@command("deliver-alerts", "one alert delivery pass now (what the bot does every few seconds)")
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

    return asyncio.run(_with_resources(settings, go))


# -- marketing: the bid-cycle kill switch (DOMAIN.md "Marketing") -------------------------------------------
@command("pause-bids", "stop the bid cycle from changing bids until resumed (kill switch)",
         lambda p: p.add_argument("--reason", default=""))
def cmd_pause_bids(args: argparse.Namespace, settings: Settings) -> int:
    import getpass
    from datetime import datetime, timezone

    from adolfd.admin.cli import _with_redis
    from adolfd.workers.marketing.kill_switch import pause_bids

    async def go(redis) -> int:
        state = await pause_bids(redis, by=f"cli:{getpass.getuser()}", now=datetime.now(timezone.utc),
                                 reason=args.reason)
        print(json.dumps(state, ensure_ascii=False, default=str))
        return 0

    return asyncio.run(_with_redis(settings, go))


@command("resume-bids", "let the bid cycle change bids again")
def cmd_resume_bids(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from adolfd.admin.cli import _with_redis
    from adolfd.workers.marketing.kill_switch import resume_bids

    async def go(redis) -> int:
        print(json.dumps(await resume_bids(redis, by=f"cli:{getpass.getuser()}"), ensure_ascii=False, default=str))
        return 0

    return asyncio.run(_with_redis(settings, go))


# -- marketing: an operator's bid change (seed 002 §7.1 apply_bid_change) ------------------------------------
def _set_bid_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("keyword_id", type=int, help="marketing_keywords.id (a WB product, Ozon or YM SKU in a campaign)")
    p.add_argument("bid", help="the new bid in roubles, e.g. 12.50")
    p.add_argument("--request-id", help="the same id never changes the bid twice (default: keyword and bid)")


@command("set-bid", "record an operator's bid change and apply it once (apply_bid_change)", _set_bid_args)
def cmd_set_bid(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.enqueue import enqueue
    from adolfd.workers.marketing.bid_changes import request_bid_change

    async def go(res) -> int:
        request_id = args.request_id or f"cli:{args.keyword_id}:{args.bid}"
        try:
            change = await request_bid_change(res.db, args.keyword_id, args.bid, request_id=request_id)
        except (LookupError, ValueError, ArithmeticError) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        queued = await enqueue(res.redis, "marketing.apply_bid_change", {"change_id": change},
                               job_id=f"marketing:bid_change:{change}")
        print(json.dumps({"change_id": change, "job_id": queued.job_id if queued else None,
                          "enqueued": queued is not None}, ensure_ascii=False))
        return 0

    return asyncio.run(_with_resources(settings, go))
