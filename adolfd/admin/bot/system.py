"""/status, /queues, /schedule, /help: the system at a glance, from the same functions as `adolfd status`."""
from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import BotCommand, Message

from adolfd.admin.bot.replies import answer, esc, render_queues, render_schedule, render_status
from adolfd.admin.status import queue_status, schedule_rows, system_status
from adolfd.engine.context import Resources
from adolfd.modules import module_names

# (command, argument hint, description): /help and the chat's command menu
COMMANDS = [
    ("status", "", "the whole system at a glance"),
    ("queues", "", "queue depths and workers"),
    ("schedule", "[module]", "next run of every schedule"),
    ("run", "JOB [k=v …]", "enqueue a job by hand"),
    ("job", "ID", "status and result of one job"),
    ("failed", "", "jobs that exhausted their tries"),
    ("alerts", "[module]", "open alerts, with read / resolve buttons"),
    ("retry", "ID", "re-enqueue a failed job"),
    ("pause_bids", "[reason]", "stop the bid cycle (kill switch)"),
    ("resume_bids", "", "let the bid cycle run again"),
    ("campaigns", "[brand]", "ad campaigns, with buttons to pause or resume"),
    ("set_campaign", "ID k=v …", "strategy, target, max_bid, daily_limit of a campaign"),
    ("recs", "[campaign]", "open recommendations, with accept / dismiss buttons"),
    ("report", "BRAND|CAMPAIGN FROM TO", "ad figures as a CSV file in this chat"),
    ("chart", "CAMPAIGN", "a campaign's spend, orders and bid over 14 days (PNG)"),
    ("stock_chart", "BRAND", "a brand's days of stock per cluster (PNG)"),
    ("breakers", "", "review polling circuit breakers"),
    ("approve", "ITEM", "approve a review reply for publishing"),
    ("cars_posts", "[status]", "carsbot posts by status"),
    ("cars_reprocess", "POST", "run the carsbot pipeline on a post again"),
    ("cars_skip", "POST", "never publish a carsbot post"),
    ("cars_publish", "POST", "publish a carsbot post now"),
    ("cars_sync", "", "sync carsbot channels and subscribers from the sheet now"),
    ("cars_expiring", "", "carsbot subscriptions ending within 7 days"),
    ("watcher", "VERB …", "competitor prices: products, agents, alerts, queues"),
    ("tasks", "[brand] [priority]", "open supply tasks, with buttons to act"),
    ("task", "NUMBER", "one supply task in full"),
    ("complete_task", "NUMBER QTY", "a shipped supply task is complete"),
    ("cancel_task", "NUMBER REASON", "cancel an open supply task"),
    ("help", "", "this list"),
]


def menu() -> list[BotCommand]:
    return [BotCommand(command=name, description=text) for name, _, text in COMMANDS]


async def status(message: Message, res: Resources) -> None:
    await answer(message, render_status(await system_status(res.redis, res.db), res.settings.tz))


async def queues(message: Message, res: Resources) -> None:
    data = {"queues": await queue_status(res.redis), "cron": _cron_flags()}
    await answer(message, "\n".join(["<b>Queues</b> (queued, running)", *render_queues(data)]))


def _cron_flags() -> list[dict]:
    from adolfd.cron import TABLE

    return [{"module": e.module, "enabled": e.enabled} for e in TABLE]


async def schedule(message: Message, command: CommandObject, res: Resources) -> None:
    module = (command.args or "").strip() or None
    if module and module not in module_names():
        await message.answer(f"Unknown module {esc(module)}. Modules: {esc(', '.join(module_names()))}")
        return
    rows = schedule_rows(datetime.now(UTC))
    await answer(message, render_schedule(rows, res.settings.tz, module))


async def help_(message: Message) -> None:
    lines = ["<b>adolfd admin</b>"]
    lines += [f"/{name} {esc(hint)} — {esc(text)}".replace("  —", " —") for name, hint, text in COMMANDS]
    await message.answer("\n".join(lines))


async def unknown(message: Message) -> None:
    await message.answer("Unknown command. /help lists what I can do.")


def router() -> Router:
    """A fresh router (a Router can be attached to one dispatcher only)."""
    r = Router(name="system")
    r.message.register(status, Command("status"))
    r.message.register(queues, Command("queues"))
    r.message.register(schedule, Command("schedule"))
    r.message.register(help_, CommandStart())
    r.message.register(help_, Command("help"))
    return r


def fallback() -> Router:
    """Last among the admin routers: an admin's message no command matched."""
    r = Router(name="fallback")
    r.message.register(unknown)
    return r
