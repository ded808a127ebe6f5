"""/pause_bids and /resume_bids: the bid-cycle kill switch (DOMAIN.md "Marketing"), via
adolfd.workers.marketing.kill_switch."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from adolfd.admin.bot.replies import clock, esc
from adolfd.engine.context import Resources
from adolfd.workers.marketing.kill_switch import pause_bids, resume_bids


def _who(message: Message) -> str:
    user = message.from_user
    if user is None:
        return "telegram"
    return f"telegram:{user.username or user.id}"


async def pause(message: Message, command: CommandObject, res: Resources) -> None:
    result = await pause_bids(res.db, res.redis, by=_who(message), now=res.clock.now(), reason=command.args or "")
    since = clock(result["at"], res.settings.tz)
    if result["already"]:
        await message.answer(f"⏸ Bid cycle was already paused by {esc(result['by'])} since {since}.")
        return
    why = f"\nreason: {esc(result['reason'])}" if result["reason"] else ""
    await message.answer(f"⏸ <b>Bid cycle paused</b> from its next run until /resume_bids.{why}")


async def resume(message: Message, res: Resources) -> None:
    result = await resume_bids(res.db, res.redis, by=_who(message))
    lifted = result["lifted"]
    if lifted is None:
        await message.answer("▶️ Bid cycle was not paused; nothing changed.")
        return
    await message.answer(f"▶️ <b>Bid cycle resumed</b> (paused by {esc(lifted['by'])} at "
                         f"{clock(lifted['at'], res.settings.tz)}); it runs at its next schedule.")

def router() -> Router:
    """A fresh router (a Router can be attached to one dispatcher only)."""
    r = Router(name="marketing")
    r.message.register(pause, Command("pause_bids"))
    r.message.register(resume, Command("resume_bids"))
    return r
