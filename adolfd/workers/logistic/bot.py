"""Supply tasks in the admin bot (seed 000 §8.4.6): /tasks lists the open ones as buttons, a task shows with
buttons for what it allows (confirm, shipped), /complete_task and /cancel_task take the quantity or the reason.
Every action goes through `adolfd.workers.logistic.tasks` and is recorded with the Telegram user who did it."""
from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    User,
)

from adolfd.admin.bot.replies import esc
from adolfd.domain.logistic.task_lifecycle import PRIORITIES, TaskAction, TaskActionRefused, allowed_actions
from adolfd.engine.context import Resources
from adolfd.workers.logistic.tasks import BUTTON_PREFIX as PREFIX
from adolfd.workers.logistic.tasks import MAX_BUTTONS, TaskFilter, UnknownTask, act_on_task, get_task, list_tasks

_BUTTON_LABEL = {TaskAction.CONFIRM: "✅ Confirm", TaskAction.START: "🚚 Shipped"}


def actor(user: User | None) -> str:
    return "telegram" if user is None else f"telegram:{user.username or user.id}"


def _task_text(t: dict[str, Any]) -> str:
    days = "∞" if t["days_of_stock"] is None else f"{t['days_of_stock']:g}"
    lines = [f"<b>{esc(t['task_number'])}</b> · {esc(t['status'])} · {esc(t['priority'])}",
             f"{esc(t['brand_id'])}: {esc(t['article'])} (SKU {t['sku'] or '—'}) → {esc(t['cluster_name'])}",
             f"send {t['quantity']} pcs · deficit {t['deficit']} · target {t['target_stock']} · FBO {t['fbo_stock']}"
             f" · in transit {t['in_transit']} · {days} days of stock"]
    if t["quantity_sent"] is not None:
        lines.append(f"sent: {t['quantity_sent']} pcs")
    if t["cancel_reason"]:
        lines.append(f"cancelled: {esc(t['cancel_reason'])}")
    for a in t.get("actions", []):
        lines.append(f"· {a['acted_at']:%d.%m %H:%M} {esc(a['action'])} by {esc(a['actor'])}")
    return "\n".join(lines)


def _task_keyboard(t: dict[str, Any]) -> InlineKeyboardMarkup | None:
    buttons = [InlineKeyboardButton(text=label, callback_data=f"{PREFIX}:{a.value}:{t['task_number']}")
               for a in allowed_actions(t["status"]) if (label := _BUTTON_LABEL.get(a))]
    return InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None


async def tasks(message: Message, command: CommandObject, res: Resources) -> None:
    brand = priority = None
    for word in (command.args or "").split():
        if word in PRIORITIES:
            priority = word
        elif word in res.settings.brands:
            brand = word
        else:
            await message.answer(f"Unknown filter {esc(word)}: give a brand ({esc(', '.join(res.settings.brands))}) "
                                 f"and/or a priority ({', '.join(PRIORITIES)}).")
            return
    found = await list_tasks(res.db, TaskFilter(brand=brand, priority=priority, limit=MAX_BUTTONS))
    if not found:
        await message.answer("No open supply tasks.")
        return
    rows = [[InlineKeyboardButton(
        text=f"{t['task_number']} · {t['status']} · {t['priority']} · {t['article']} ×{t['quantity']}",
        callback_data=f"{PREFIX}:show:{t['task_number']}")] for t in found]
    await message.answer(f"<b>Open supply tasks</b> ({len(found)}): pick one.",
                         reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def task(message: Message, command: CommandObject, res: Resources) -> None:
    number = (command.args or "").strip()
    if not number:
        await message.answer("Usage: /task SUP-20260216-0007")
        return
    try:
        t = await get_task(res.db, number)
    except UnknownTask as exc:
        await message.answer(esc(str(exc).strip("'\"")))
        return
    await message.answer(_task_text(t), reply_markup=_task_keyboard(t))


async def _act(message: Message, res: Resources, number: str, action: TaskAction, by: User | None, *,
               quantity: int | None = None, reason: str | None = None) -> None:
    try:
        move = await act_on_task(res.db, number, action, actor=actor(by), now=res.clock.now(),
                                 quantity_sent=quantity, reason=reason)
    except (UnknownTask, TaskActionRefused) as exc:
        await message.answer(f"⛔ {esc(str(exc).strip(chr(39) + chr(34)))}")
        return
    t = await get_task(res.db, number)
    await message.answer(f"✔️ {esc(number)}: {esc(move.from_status)} → <b>{esc(move.to_status)}</b>\n\n"
                         f"{_task_text(t)}", reply_markup=_task_keyboard(t))


async def complete_task(message: Message, command: CommandObject, res: Resources) -> None:
    words = (command.args or "").split()
    if len(words) != 2 or not words[1].lstrip("-").isdigit():
        await message.answer("Usage: /complete_task SUP-20260216-0007 QUANTITY_SENT (a whole number)")
        return
    await _act(message, res, words[0], TaskAction.COMPLETE, message.from_user, quantity=int(words[1]))


async def cancel_task(message: Message, command: CommandObject, res: Resources) -> None:
    number, _, reason = (command.args or "").strip().partition(" ")
    if not number:
        await message.answer("Usage: /cancel_task SUP-20260216-0007 REASON")
        return
    await _act(message, res, number, TaskAction.CANCEL, message.from_user, reason=reason)


async def button(query: CallbackQuery, res: Resources) -> None:
    _, what, number = (query.data or "").split(":", 2)
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if what == "show":
        try:
            t = await get_task(res.db, number)
        except UnknownTask as exc:
            await query.message.answer(esc(str(exc).strip("'\"")))
            return
        await query.message.answer(_task_text(t), reply_markup=_task_keyboard(t))
    elif what in (TaskAction.CONFIRM.value, TaskAction.START.value):
        await _act(query.message, res, number, TaskAction(what), query.from_user)


_DAYS_PER_CLUSTER = """
SELECT cluster_name, sum(fbo_stock)::float / nullif(sum(avg_daily_sales), 0)::float AS days
FROM cluster_stock_snapshots
WHERE brand_id = $1 AND slot = (SELECT max(slot) FROM cluster_stock_snapshots WHERE brand_id = $1)
GROUP BY cluster_name ORDER BY days NULLS LAST, cluster_name
"""


async def stock_chart(message: Message, command: CommandObject, res: Resources) -> None:
    """/stock_chart BRAND: a PNG of the brand's days of stock per cluster, from the latest FBO snapshot."""
    from adolfd.admin.charts import stock_chart as render

    brand = (command.args or "").strip()
    if brand not in res.settings.brands:
        await message.answer(f"Usage: /stock_chart BRAND ({esc(', '.join(res.settings.brands))})")
        return
    rows = [r for r in await res.db.fetch(_DAYS_PER_CLUSTER, brand) if r["days"] is not None]
    if not rows:
        await message.answer(f"No FBO stock snapshot with sales for {esc(brand)} yet.")
        return
    png = render(f"{brand}: days of stock per cluster", [r["cluster_name"] for r in rows], [r["days"] for r in rows])
    await message.answer_photo(BufferedInputFile(png, filename=f"stock_{brand}.png"),
                               caption=f"{esc(brand)}: days of stock per cluster (latest snapshot)")


def router() -> Router:
    """A fresh router (a Router can be attached to one dispatcher only)."""
    r = Router(name="logistic")
    r.message.register(tasks, Command("tasks"))
    r.message.register(task, Command("task"))
    r.message.register(complete_task, Command("complete_task"))
    r.message.register(cancel_task, Command("cancel_task"))
    r.message.register(stock_chart, Command("stock_chart"))
    r.callback_query.register(button, F.data.startswith(f"{PREFIX}:"))
    return r
