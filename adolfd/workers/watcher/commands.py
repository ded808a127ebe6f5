"""`adolfd watcher VERB …`: the operator's watcher commands (adolfd.workers.watcher.operator) from the shell.
Output is one JSON document; a refusal prints its reason and exits 2 with nothing changed."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from datetime import date
from pathlib import Path
from typing import Any

from adolfd.admin.shell import EXIT_USAGE, fail, with_resources
from adolfd.engine.module import Command
from adolfd.settings import Settings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _args(p: argparse.ArgumentParser) -> None:
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = verbs.add_parser("add-product", help="watch one of our products (again)")
    add.add_argument("sku")
    add.add_argument("marketplace", help="wb|ozon|ym (or wildberries|yandex_market)")
    add.add_argument("brand", help="a configured brand, e.g. ohana_market")
    add.add_argument("--name")
    add.add_argument("--url")
    rm = verbs.add_parser("remove-product", help="stop watching one of our products (history kept)")
    rm.add_argument("sku")
    rm.add_argument("marketplace")
    ls = verbs.add_parser("products", help="our monitored products with their competitor counts")
    ls.add_argument("--marketplace")
    ls.add_argument("--all", action="store_true", help="removed ones too")
    comp = verbs.add_parser("add-competitor", help="watch a competitor's card against our SKU")
    comp.add_argument("our_sku")
    comp.add_argument("marketplace")
    comp.add_argument("competitor_sku")
    comp.add_argument("--url")
    comp.add_argument("--name")
    comp.add_argument("--priority", help="0–100 (default 50; calculate_priorities recomputes it at 04:00)")
    verbs.add_parser("remove-competitor", help="stop watching a competitor").add_argument("competitor_id", type=int)
    lc = verbs.add_parser("competitors", help="watched competitors, highest priority first")
    lc.add_argument("--sku")
    lc.add_argument("--marketplace")
    verbs.add_parser("import", help="products and competitors from a CSV file (docs/operations.md)").add_argument(
        "file", type=Path)
    verbs.add_parser("agents", help="agents: status, cookies, last heartbeat, IP, claimed tasks")
    verbs.add_parser("clear-panic", help="let an agent in panic work again").add_argument("agent")
    verbs.add_parser("unblock-ip", help="lift an IP block before its hour is over").add_argument("ip")
    verbs.add_parser("alerts", help="open watcher alerts, newest first")
    verbs.add_parser("resolve-alert", help="resolve a watcher alert").add_argument("alert_id", type=int)
    gen = verbs.add_parser("generation", help="a night's generation record and its tasks by status")
    gen.add_argument("date", type=_date, nargs="?", help="YYYY-MM-DD (default: today)")
    verbs.add_parser("queues", help="the agents' task queue length per marketplace")
    reg = verbs.add_parser("regenerate", help="enqueue regenerate_failed_tasks for a night")
    reg.add_argument("date", type=_date, nargs="?", help="YYYY-MM-DD (default: today)")
    for verb in ("add-product", "remove-product", "add-competitor", "remove-competitor", "import", "clear-panic",
                 "unblock-ip", "resolve-alert", "regenerate"):
        verbs.choices[verb].add_argument("--by", default=None, help="who does it, for the log (default: $USER)")


async def dispatch(ctx: Any, args: argparse.Namespace) -> Any:
    from adolfd.workers.watcher import operator as op

    by = f"cli:{getattr(args, 'by', None) or getpass.getuser()}"
    verb = args.verb
    if verb == "add-product":
        return await op.add_product(ctx, args.sku, args.marketplace, args.brand, name=args.name, url=args.url, by=by)
    if verb == "remove-product":
        return await op.remove_product(ctx, args.sku, args.marketplace, by=by)
    if verb == "products":
        return await op.list_products(ctx, args.marketplace, include_removed=args.all)
    if verb == "add-competitor":
        return await op.add_competitor(ctx, args.our_sku, args.marketplace, args.competitor_sku, url=args.url,
                                       name=args.name, priority_value=args.priority, by=by)
    if verb == "remove-competitor":
        return await op.remove_competitor(ctx, args.competitor_id, by=by)
    if verb == "competitors":
        return await op.list_competitors(ctx, args.sku, args.marketplace)
    if verb == "import":
        return await op.import_csv(ctx, args.file, by=by)
    if verb == "agents":
        return await op.list_agents(ctx)
    if verb == "clear-panic":
        return await op.clear_panic(ctx, args.agent, by=by)
    if verb == "unblock-ip":
        return await op.unblock_ip(ctx, args.ip, by=by)
    if verb == "alerts":
        return await op.open_alerts(ctx)
    if verb == "resolve-alert":
        return await op.resolve_alert(ctx, args.alert_id, by=by)
    if verb == "generation":
        return await op.generation_record(ctx, args.date or ctx.now().date())
    if verb == "queues":
        return await op.queues(ctx)
    return await op.regenerate(ctx, args.date, by=by)


def cmd_watcher(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.context import Ctx
    from adolfd.workers.watcher.operator import Refused

    async def go(res) -> int:
        try:
            result = await dispatch(Ctx(res), args)
        except Refused as exc:
            return fail(str(exc), EXIT_USAGE)
        print(json.dumps(result, ensure_ascii=False, default=str))
        return 0

    return asyncio.run(with_resources(settings, go))


COMMANDS = (Command("watcher", "competitor price watcher: products, competitors, agents, alerts, queues "
                               "(docs/operations.md)", cmd_watcher, _args),)
