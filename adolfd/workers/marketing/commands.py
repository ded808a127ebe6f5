"""`adolfd pause-bids | resume-bids | set-bid | campaigns | campaign-set | campaign-pause | campaign-resume |
keyword-pause | keyword-resume | recipients`: the bid-cycle kill switch, operators' bid changes, campaign set-up
and who receives alerts (seed 002)."""
from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC

from adolfd.admin.shell import EXIT_USAGE, fail, with_resources
from adolfd.engine.module import Command
from adolfd.keys import MARKETING_BID_CHANGE_JOB
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
    p.add_argument("--request-id", help="the same id never changes the bid twice (default: keyword, bid and the "
                                        "last bid that landed, so setting a value again after the cycle moved "
                                        "it is sent)")


def cmd_set_bid(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.enqueue import enqueue
    from adolfd.workers.marketing.bid_changes import request_bid_change

    async def go(res) -> int:
        request_id = f"cli:{args.request_id}" if args.request_id else None
        try:
            change = await request_bid_change(res.db, args.keyword_id, args.bid, request_id=request_id)
        except (LookupError, ValueError, ArithmeticError) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        queued = await enqueue(res.redis, "marketing.apply_bid_change", {"change_id": change},
                               job_id=MARKETING_BID_CHANGE_JOB.format(change=change))
        print(json.dumps({"change_id": change, "job_id": queued.job_id if queued else None,
                          "enqueued": queued is not None}, ensure_ascii=False))
        return 0

    return asyncio.run(with_resources(settings, go))


# -- marketing: campaign set-up (seed 002 §7.3.1, §7.3.3) ----------------------------------------------------
def _who(args: argparse.Namespace) -> str:
    import getpass

    return f"cli:{getattr(args, 'by', None) or getpass.getuser()}"


def _campaigns_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--brand")
    p.add_argument("--marketplace", choices=("wb", "ozon", "ym"))
    p.add_argument("--json", action="store_true")


def _campaign_line(c: dict) -> str:
    target = {"position": c["target_position"], "drr": c["target_drr"] and f"{c['target_drr']} %",
              "cpo": c["target_cpo"] and f"{c['target_cpo']} ₽"}.get(c["strategy_type"])
    paused = f" (paused by {c['paused_by']})" if c["status"] == "paused" else ""
    limit = f"{c['daily_limit']} ₽" if c["daily_limit"] is not None else "no limit"
    return (f"#{c['id']} {c['marketplace']} {c['brand_id']} {c['name'][:40]!r} {c['status']}{paused} · "
            f"{c['strategy_type']}{f' → {target}' if target else ''} · max_bid {c['max_bid']} ₽ · "
            f"spent today {c['spent_today']} of {limit}")


def cmd_campaigns(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.workers.marketing.campaign_admin import list_campaigns

    async def go(res) -> int:
        if args.brand is not None and args.brand not in settings.brands:
            return fail(f"unknown brand {args.brand!r}; expected one of {', '.join(settings.brands)}", EXIT_USAGE)
        found = await list_campaigns(res.db, res.clock.now().astimezone(settings.tz).date(), brand=args.brand,
                                     marketplace=args.marketplace)
        if args.json:
            print(json.dumps(found, ensure_ascii=False, default=str))
        else:
            print("\n".join(_campaign_line(c) for c in found) if found else "no campaigns (run sync_campaigns)")
        return 0

    return asyncio.run(with_resources(settings, go))


def _campaign_set_args(p: argparse.ArgumentParser) -> None:
    # the domain's names, not campaign_admin's: building the parser must not load the ad clients
    from adolfd.domain.marketing.bid_engine import Strategy

    p.add_argument("campaign_id", type=int)
    p.add_argument("--strategy", choices=tuple(s.value for s in Strategy))
    p.add_argument("--target", help="position (≥ 1), drr percent or cpo roubles, as the strategy needs")
    p.add_argument("--max-bid", help="roubles")
    p.add_argument("--daily-limit", help="roubles, or none")
    p.add_argument("--by")


def cmd_campaign_set(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.workers.marketing.campaign_admin import CampaignRefused, CampaignSetup, set_campaign

    if not any((args.strategy, args.target, args.max_bid, args.daily_limit)):
        return fail("nothing to set: give --strategy, --target, --max-bid or --daily-limit", EXIT_USAGE)

    async def go(res) -> int:
        try:
            done = await set_campaign(res.db, args.campaign_id, CampaignSetup(
                args.strategy, args.target, args.max_bid, args.daily_limit), by=_who(args))
        except CampaignRefused as exc:
            return fail(str(exc), EXIT_USAGE)
        print(json.dumps(done, ensure_ascii=False, default=str))
        return 0

    return asyncio.run(with_resources(settings, go))


def _run_state(what: str, run: bool):
    def arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument(f"{what}_id", type=int)
        p.add_argument("--by")

    def cmd(args: argparse.Namespace, settings: Settings) -> int:
        from adolfd.clients.errors import ApiError
        from adolfd.engine.context import Ctx
        from adolfd.workers.marketing.campaign_admin import (
            CampaignRefused,
            set_campaign_running,
            set_keyword_running,
        )

        async def go(res) -> int:
            ctx = Ctx(res, job_id=f"cli:{what}:{'resume' if run else 'pause'}")
            change = set_campaign_running if what == "campaign" else set_keyword_running
            try:
                done = await change(ctx, getattr(args, f"{what}_id"), run=run, by=_who(args))
            except CampaignRefused as exc:
                return fail(str(exc), EXIT_USAGE)
            except (ApiError, LookupError) as exc:
                return fail(f"the marketplace refused or is unreachable: {exc}")
            print(json.dumps(done, ensure_ascii=False, default=str))
            return 0

        return asyncio.run(with_resources(settings, go))

    return cmd, arguments


# -- marketing: recommendations (seed 002 §7.3.4) -------------------------------------------------------------
def _recs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--campaign", type=int, help="marketing_campaigns.id")
    p.add_argument("--status", choices=("open", "accepted", "dismissed", "all"), default="open")
    p.add_argument("--json", action="store_true")


def cmd_recommendations(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.workers.marketing.recommendations import list_recommendations

    async def go(res) -> int:
        found = await list_recommendations(res.db, campaign_id=args.campaign,
                                           status=None if args.status == "all" else args.status)
        if args.json:
            print(json.dumps(found, ensure_ascii=False, default=str))
        else:
            print("\n".join(f"#{r['id']} {r['rec_date']} campaign #{r['campaign_id']} [{r['priority']}] {r['kind']}"
                            f" ({r['status']}): {r['text']}" for r in found) or "no recommendations")
        return 0

    return asyncio.run(with_resources(settings, go))


def _decide(accept: bool):
    def arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("recommendation_id", type=int)
        p.add_argument("--by")

    def cmd(args: argparse.Namespace, settings: Settings) -> int:
        from adolfd.workers.marketing.recommendations import RecommendationRefused, decide

        async def go(res) -> int:
            try:
                done = await decide(res.db, res.redis, args.recommendation_id, accept=accept, by=_who(args),
                                    now=res.clock.now())
            except (RecommendationRefused, ValueError) as exc:
                return fail(str(exc), EXIT_USAGE)
            print(json.dumps(done, ensure_ascii=False))
            return 0

        return asyncio.run(with_resources(settings, go))

    return cmd, arguments


# -- alert recipients: the users table (seed 002 §7.3.7's User), read by alert delivery -------------------------
def _recipients_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="recipients_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="everyone who receives alerts, and the configured group chats")
    add = sub.add_parser("add", help="add a person (role, brand, Telegram chat id)")
    add.add_argument("name")
    add.add_argument("role", choices=("manager", "senior", "director", "admin"))
    add.add_argument("--brand", default="all")
    add.add_argument("--chat-id", type=int, required=True, help="their Telegram chat id (= user id for a person)")
    off = sub.add_parser("remove", help="stop alerts to a person (kept, marked inactive)")
    off.add_argument("user_id", type=int)


def cmd_recipients(args: argparse.Namespace, settings: Settings) -> int:
    async def go(res) -> int:
        what = args.recipients_command
        if what == "list":
            people = [dict(r) for r in await res.db.fetch(
                "SELECT id, name, role, brand_id, telegram_chat_id, is_active FROM users ORDER BY id")]
            chats = [c.model_dump() for c in settings.ops.alert_chats]
            print(json.dumps({"users": people, "group_chats": chats}, ensure_ascii=False, default=str))
            return 0
        if what == "add":
            if args.brand != "all" and args.brand not in settings.brands:
                return fail(f"unknown brand {args.brand!r}; expected all or one of {', '.join(settings.brands)}",
                            EXIT_USAGE)
            user_id = await res.db.fetchval(
                "INSERT INTO users (name, role, brand_id, telegram_chat_id) VALUES ($1, $2, $3, $4) RETURNING id",
                args.name, args.role, args.brand, args.chat_id)
            print(json.dumps({"user_id": user_id, "name": args.name, "role": args.role, "brand": args.brand,
                              "chat_id": args.chat_id}, ensure_ascii=False))
            return 0
        gone = await res.db.fetchval("UPDATE users SET is_active = false WHERE id = $1 RETURNING id", args.user_id)
        if gone is None:
            return fail(f"no user {args.user_id} (`adolfd recipients list` lists them)", EXIT_USAGE)
        print(json.dumps({"user_id": args.user_id, "is_active": False}))
        return 0

    return asyncio.run(with_resources(settings, go))


COMMANDS = (
    Command("pause-bids", "stop the bid cycle from changing bids until resumed (kill switch)", cmd_pause_bids,
            lambda p: p.add_argument("--reason", default="")),
    Command("resume-bids", "let the bid cycle change bids again", cmd_resume_bids),
    Command("set-bid", "record an operator's bid change and apply it once (apply_bid_change)", cmd_set_bid,
            _set_bid_args),
    Command("campaigns", "advertising campaigns: strategy, targets, limits, today's spend", cmd_campaigns,
            _campaigns_args),
    Command("campaign-set", "set a campaign's strategy and target, max_bid, daily_limit", cmd_campaign_set,
            _campaign_set_args),
    Command("campaign-pause", "pause a campaign on its marketplace (as operator)", *_run_state("campaign", False)),
    Command("campaign-resume", "resume a paused campaign (any pause: safety, budget, operator)",
            *_run_state("campaign", True)),
    Command("keyword-pause", "pause one keyword (bid-able unit) on its marketplace", *_run_state("keyword", False)),
    Command("keyword-resume", "resume a paused keyword (the safety logic's pauses too)", *_run_state("keyword", True)),
    Command("recommendations", "the nightly recommendations per campaign", cmd_recommendations, _recs_args),
    Command("recommendation-accept", "accept one: its bid changes are applied once (apply_bid_change)",
            *_decide(True)),
    Command("recommendation-dismiss", "dismiss one", *_decide(False)),
    Command("recipients", "who receives alerts: list | add | remove (the users table)", cmd_recipients,
            _recipients_args),
)
