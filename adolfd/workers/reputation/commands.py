"""`adolfd approve | skip | regenerate | reviews`: replies waiting for review, from the shell (seed 003)."""
from __future__ import annotations

import argparse
import asyncio
import json

from adolfd.admin.shell import EXIT_USAGE, fail, with_resources
from adolfd.engine.module import Command
from adolfd.outside_text import printable
from adolfd.settings import Settings


def _approve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("item_id", type=int)
    p.add_argument("--text", help="publish this text instead of the draft")
    p.add_argument("--by", default="cli", help="who approves (recorded with the reply)")


def cmd_approve(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.workers.reputation import approval as reputation

    async def go(res) -> int:
        try:
            result = await reputation.approve(res.db, res.redis, args.item_id, by=args.by, text=args.text)
        except (LookupError, ValueError) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    return asyncio.run(with_resources(settings, go))


def _skip_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("item_id", type=int)
    p.add_argument("--by", default="cli")


def cmd_skip(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.workers.reputation import approval as reputation

    async def go(res) -> int:
        try:
            result = await reputation.skip(res.db, args.item_id, by=args.by)
        except (LookupError, ValueError) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    return asyncio.run(with_resources(settings, go))


def _regenerate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("item_id", type=int)
    p.add_argument("instructions", help="what to change, e.g. 'короче' or 'добавь «…»'")


def cmd_regenerate(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.workers.reputation import approval as reputation

    async def go(res) -> int:
        try:
            result = await reputation.request_regeneration(res.db, res.redis, args.item_id, args.instructions)
        except (LookupError, ValueError) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    return asyncio.run(with_resources(settings, go))


def _reviews_args(p: argparse.ArgumentParser) -> None:
    # an unknown status exits 2 naming the allowed ones (list_items' ValueError, below), not a traceback
    p.add_argument("--status", default="pending_review",
                   help="item status (default pending_review); escalated items are listed first")
    p.add_argument("--limit", type=_limit, default=20, help="at most this many items, 1 to 500 (default 20)")


def _limit(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 500:
        raise argparse.ArgumentTypeError(f"allowed: 1 to 500, not {value}")
    return value


def cmd_reviews(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.workers.reputation import approval as reputation

    async def go(res) -> int:
        try:
            rows = await reputation.list_items(res.db, args.status, args.limit)
        except ValueError as exc:
            return fail(str(exc), EXIT_USAGE)
        for r in rows:
            stars = f" {r['rating']}★" if r["rating"] else ""
            flag = ""
            if r["escalate"]:
                flag = f" ⚠ ESCALATED ({', '.join((r['ai_analysis'] or {}).get('reasons') or ['model'])})"
            # outside text (a customer's review, a draft built from it): no escape sequence reaches the terminal
            print(printable(f"#{r['id']} {r['platform']} {r['item_type']}{stars} [{r['brand_id']}]{flag} "
                            f"{r['text'][:120]!r}"))
            if r["draft"]:
                print(f"    → {printable(r['draft'])}")
            if r["guard_reason"]:
                print(f"    ⚠ held by the content guard: {printable(r['guard_reason'])}")
        if not rows:
            print(f"no items in status {args.status}")
        return 0

    return asyncio.run(with_resources(settings, go))


COMMANDS = (
    Command("approve", "approve a reply pending review; its send_response is enqueued once", cmd_approve,
            _approve_args),
    Command("skip", "leave a review or question unanswered on purpose", cmd_skip, _skip_args),
    Command("regenerate", "redraft a reply with instructions (it then needs approval again)", cmd_regenerate,
            _regenerate_args),
    Command("reviews", "reviews and questions by status, with their drafts", cmd_reviews, _reviews_args),
)
