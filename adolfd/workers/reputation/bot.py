"""/breakers and /approve: review polling breakers and reply approval (seed 003), via adolfd.workers.reputation."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from adolfd.admin.bot.replies import answer, compact, esc, render_breakers
from adolfd.engine.context import Resources
from adolfd.workers.reputation import approval
from adolfd.workers.reputation.breakers import breaker_status

PENDING_SHOWN = 10


async def breakers(message: Message, res: Resources) -> None:
    rows = await breaker_status(res.redis, res.db)
    await answer(message, "\n".join(["<b>Polling breakers</b>", *render_breakers(rows, res.settings.tz)]))


async def approve(message: Message, command: CommandObject, res: Resources) -> None:
    """`/approve 42` publishes the drafted reply; `/approve 42 text…` publishes the operator's text instead;
    `/approve` alone lists what waits for review."""
    words = (command.args or "").split(maxsplit=1)
    if not words:
        items = await approval.list_items(res.db, "pending_review", PENDING_SHOWN)
        if not items:
            await message.answer("✅ Nothing waits for review.")
            return
        lines = [f"<b>Waiting for review</b> (oldest {len(items)})"]
        for item in items:
            stars = f"{item['rating']}★ " if item.get("rating") is not None else ""
            lines.append(f"#{item['id']} {esc(item['platform'])} {esc(item['item_type'])} {stars}"
                         f"{esc(item['brand_id'])}\n  «{esc(compact(item['text'] or '', 120))}»\n"
                         f"  → {esc(compact(item['draft'] or '(no draft)', 200))}\n  /approve {item['id']}")
        await answer(message, "\n".join(lines))
        return
    raw = words[0].lstrip("#")
    if not raw.isdigit():
        await message.answer("Usage: /approve ITEM [your own reply text]")
        return
    text = words[1].strip() if len(words) > 1 else None
    who = message.from_user.username or message.from_user.id if message.from_user else "telegram"
    try:
        result = await approval.approve(res.db, res.redis, int(raw), by=f"telegram:{who}", text=text)
    except (LookupError, ValueError) as exc:
        await message.answer(f"❌ {esc(str(exc).strip(chr(39) + chr(34)))}")
        return
    own = " with your text" if text else ""
    await message.answer(f"✅ item #{result['item_id']} approved{own}; its reply is being published once.")

def router() -> Router:
    """A fresh router (a Router can be attached to one dispatcher only)."""
    r = Router(name="reputation")
    r.message.register(breakers, Command("breakers"))
    r.message.register(approve, Command("approve"))
    return r
