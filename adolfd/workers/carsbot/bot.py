"""Carsbot's admin-bot commands (behind the admin filter): posts by status, re-process, skip, publish now, sync
now, subscriptions expiring this week — the same functions as `adolfd carsbot …` (adolfd.workers.carsbot.operator)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from adolfd.admin.bot.replies import answer, compact, esc
from adolfd.engine.context import Ctx, Resources
from adolfd.workers.carsbot import operator

POSTS_SHOWN = 10


async def posts(message: Message, command: CommandObject, res: Resources) -> None:
    status = (command.args or "").strip() or None
    try:
        found = await operator.posts_by_status(Ctx(res), status, POSTS_SHOWN)
    except ValueError as exc:
        await message.answer(f"❌ {esc(exc)}")
        return
    counts = ", ".join(f"{esc(k)} {v}" for k, v in found["counts"].items()) or "no posts"
    lines = [f"<b>Carsbot posts</b>: {counts}"]
    if found["posts"]:
        lines.append(f"latest{' ' + esc(status) if status else ''}:")
    for p in found["posts"]:
        error = f"\n  ⚠ {esc(compact(p['error'], 120))}" if p["error"] else ""
        lines.append(f"#{p['id']} {esc(p['status'])} · {esc(p['channel_id'])} · «{esc(compact(p['text'] or '', 60))}»"
                     f"{error}")
    await answer(message, "\n".join(lines))


def _post_command(action: Callable[[Ctx, int], Awaitable[dict[str, Any]]], done: str, usage: str):
    async def handle(message: Message, command: CommandObject, res: Resources) -> None:
        raw = (command.args or "").strip().lstrip("#")
        if not raw.isdigit():
            await message.answer(f"Usage: {usage}")
            return
        try:
            await action(Ctx(res), int(raw))
        except ValueError as exc:
            await message.answer(f"❌ {esc(exc)}")
            return
        await message.answer(f"✅ post #{raw} {done}")
    return handle


async def sync(message: Message, res: Resources) -> None:
    queued = await operator.sync_now(Ctx(res))
    jobs = ", ".join(esc(name) for name, job in queued.items() if job is not None) or "nothing (already queued)"
    await message.answer(f"✅ sheet sync queued: {jobs}")


async def expiring(message: Message, res: Resources) -> None:
    rows = await operator.expiring_this_week(Ctx(res))
    if not rows:
        await message.answer("No carsbot subscription ends within 7 days.")
        return
    lines = [f"<b>Carsbot subscriptions ending within 7 days</b> ({len(rows)})"]
    lines += [f"{esc(r['expires_on'])} · {r['telegram_id']} {esc('@' + r['username']) if r['username'] else ''} · "
              f"{esc(r['plan'])}".rstrip() for r in rows]
    await answer(message, "\n".join(lines))


def router() -> Router:
    """A fresh router (a Router can be attached to one dispatcher only)."""
    r = Router(name="carsbot")
    r.message.register(posts, Command("cars_posts"))
    r.message.register(_post_command(operator.reprocess, "goes through the pipeline again", "/cars_reprocess POST"),
                       Command("cars_reprocess"))
    r.message.register(_post_command(operator.skip, "skipped: it will not be published", "/cars_skip POST"),
                       Command("cars_skip"))
    r.message.register(_post_command(operator.publish_now, "is being published", "/cars_publish POST"),
                       Command("cars_publish"))
    r.message.register(sync, Command("cars_sync"))
    r.message.register(expiring, Command("cars_expiring"))
    return r
