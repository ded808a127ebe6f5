"""/alerts: the open alerts, most severe first, each with ✔️ Read and ✅ Resolve buttons; who pressed is kept
on the alert (`acknowledged_by`, `resolved_by`)."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from adolfd.admin.alerts import AlertRefused, acknowledge_alert, open_alerts, resolve_alert
from adolfd.admin.bot.replies import esc
from adolfd.engine.context import Resources

PREFIX = "alr"                     # callback data: alr:ack|res:<alert id>


async def alerts(message: Message, command: CommandObject, res: Resources) -> None:
    module = (command.args or "").strip() or None
    found = await open_alerts(res.db, module=module, limit=10)
    if not found:
        await message.answer("No open alerts.")
        return
    for a in found:
        read = f" · read by {esc(a['acknowledged_by'])}" if a["acknowledged_by"] else ""
        buttons = [InlineKeyboardButton(text="✅ Resolve", callback_data=f"{PREFIX}:res:{a['id']}")]
        if not a["acknowledged_by"]:
            buttons.insert(0, InlineKeyboardButton(text="✔️ Read", callback_data=f"{PREFIX}:ack:{a['id']}"))
        await message.answer(f"<b>#{a['id']}</b> {esc(a['severity'])} · {esc(a['module'])} · "
                             f"{esc(a['alert_type'])}{read}\n{esc(a['message'][:500])}",
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]))


async def button(query: CallbackQuery, res: Resources) -> None:
    _, what, raw_id = (query.data or "").split(":", 2)
    await query.answer()
    if not isinstance(query.message, Message) or not raw_id.isdigit():
        return
    by = f"telegram:{query.from_user.username or query.from_user.id}"
    act = acknowledge_alert if what == "ack" else resolve_alert
    try:
        await act(res.db, int(raw_id), by=by, now=res.clock.now())
    except AlertRefused as exc:
        await query.message.answer(f"⛔ {esc(exc)}")
        return
    await query.message.answer(f"✔️ Alert #{raw_id} {'read' if what == 'ack' else 'resolved'} by {esc(by)}.")


def router() -> Router:
    r = Router(name="alerts")
    r.message.register(alerts, Command("alerts"))
    r.callback_query.register(button, F.data.startswith(f"{PREFIX}:"))
    return r
