"""`adolfd pause-bids | resume-bids | set-bid`: the bid-cycle kill switch and operators' bid changes (seed 002)."""
from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC

from adolfd.admin.shell import EXIT_USAGE, fail, with_resources
from adolfd.engine.module import Command
from adolfd.settings import Settings


# -- marketing: the bid-cycle kill switch (DOMAIN.md "Marketing") -------------------------------------------
def cmd_pause_bids(args: argparse.Namespace, settings: Settings) -> int:
    import getpass
    from datetime import datetime

    from adolfd.workers.marketing.kill_switch import pause_bids

    async def go(res) -> int:
        state = await pause_bids(res.db, res.redis, by=f"cli:{getpass.getuser()}", now=datetime.now(UTC),
                                 reason=args.reason)
        print(json.dumps(state, ensure_ascii=False, default=str))
        return 0

    return asyncio.run(with_resources(settings, go))


def cmd_resume_bids(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from adolfd.workers.marketing.kill_switch import resume_bids

    async def go(res) -> int:
        print(json.dumps(await resume_bids(res.db, res.redis, by=f"cli:{getpass.getuser()}"), ensure_ascii=False,
                         default=str))
        return 0

    return asyncio.run(with_resources(settings, go))


# -- marketing: an operator's bid change (seed 002 §7.1 apply_bid_change) ------------------------------------
def _set_bid_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("keyword_id", type=int, help="marketing_keywords.id (a WB product, Ozon or YM SKU in a campaign)")
    p.add_argument("bid", help="the new bid in roubles, e.g. 12.50")
    p.add_argument("--request-id", help="the same id never changes the bid twice (default: keyword and bid)")


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

    return asyncio.run(with_resources(settings, go))


COMMANDS = (
    Command("pause-bids", "stop the bid cycle from changing bids until resumed (kill switch)", cmd_pause_bids,
            lambda p: p.add_argument("--reason", default="")),
    Command("resume-bids", "let the bid cycle change bids again", cmd_resume_bids),
    Command("set-bid", "record an operator's bid change and apply it once (apply_bid_change)", cmd_set_bid,
            _set_bid_args),
)
