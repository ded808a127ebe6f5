"""/pause_bids and /resume_bids: the bid-cycle kill switch (DOMAIN.md "Marketing"), via
adolfd.workers.marketing.kill_switch; /campaigns (buttons to show, pause, resume one) and /set_campaign via
adolfd.workers.marketing.campaign_admin."""
from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from adolfd.admin.bot.replies import clock, esc
from adolfd.clients.errors import ApiError
from adolfd.engine.context import Ctx, Resources
from adolfd.workers.marketing.campaign_admin import (
    CampaignRefused,
    CampaignSetup,
    list_campaigns,
    set_campaign,
    set_campaign_running,
)
from adolfd.workers.marketing.kill_switch import pause_bids, resume_bids
from adolfd.workers.marketing.recommendations import RecommendationRefused, decide, list_recommendations

PREFIX = "mkc"                     # callback data: mkc:show|pause|resume:<campaign id>
REC_PREFIX = "mkr"                 # callback data: mkr:accept|dismiss:<recommendation id>


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

def _campaign_text(c: dict[str, Any]) -> str:
    target = {"position": c["target_position"], "drr": c["target_drr"] and f"{c['target_drr']} %",
              "cpo": c["target_cpo"] and f"{c['target_cpo']} ₽"}.get(c["strategy_type"])
    paused = f" (paused by {esc(c['paused_by'])})" if c["status"] == "paused" else ""
    limit = f"{c['daily_limit']} ₽" if c["daily_limit"] is not None else "no limit"
    return (f"<b>#{c['id']} {esc(c['name'][:60])}</b> · {c['marketplace']} · {esc(c['brand_id'])}\n"
            f"{c['status']}{paused} · {c['strategy_type']}{f' → {target}' if target else ''}\n"
            f"max_bid {c['max_bid']} ₽ · spent today {c['spent_today']} ₽ of {limit}")


def _campaign_keyboard(c: dict[str, Any]) -> InlineKeyboardMarkup:
    action = ("resume", "▶️ Resume") if c["status"] == "paused" else ("pause", "⏸ Pause")
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=action[1], callback_data=f"{PREFIX}:{action[0]}:{c['id']}")]])


async def _today_campaigns(res: Resources, brand: str | None = None) -> list[dict[str, Any]]:
    return await list_campaigns(res.db, res.clock.now().astimezone(res.settings.tz).date(), brand=brand)


async def campaigns(message: Message, command: CommandObject, res: Resources) -> None:
    brand = (command.args or "").strip() or None
    if brand is not None and brand not in res.settings.brands:
        await message.answer(f"Unknown brand {esc(brand)}; expected one of {esc(', '.join(res.settings.brands))}.")
        return
    found = (await _today_campaigns(res, brand))[:30]
    if not found:
        await message.answer("No campaigns (sync_campaigns has not run yet).")
        return
    rows = [[InlineKeyboardButton(text=f"#{c['id']} {c['marketplace']} {c['name'][:30]} · {c['status']} · "
                                       f"{c['strategy_type']}", callback_data=f"{PREFIX}:show:{c['id']}")]
            for c in found]
    await message.answer(f"<b>Campaigns</b> ({len(found)}): pick one.",
                         reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def set_campaign_cmd(message: Message, command: CommandObject, res: Resources) -> None:
    """/set_campaign ID strategy=drr target=12 max_bid=40 daily_limit=1500"""
    words = (command.args or "").split()
    usage = "Usage: /set_campaign ID [strategy=position|drr|cpo|manual] [target=…] [max_bid=…] [daily_limit=…|none]"
    if not words or not words[0].isdigit():
        await message.answer(usage)
        return
    values = dict(w.partition("=")[::2] for w in words[1:])
    unknown = set(values) - {"strategy", "target", "max_bid", "daily_limit"}
    if unknown or not values:
        await message.answer(usage)
        return
    try:
        done = await set_campaign(res.db, int(words[0]), CampaignSetup(
            values.get("strategy"), values.get("target"), values.get("max_bid"), values.get("daily_limit")),
            by=_who(message))
    except CampaignRefused as exc:
        await message.answer(f"⛔ {esc(exc)}")
        return
    c = next(c for c in await _today_campaigns(res) if c["id"] == done["id"])
    await message.answer(f"✔️ Saved.\n{_campaign_text(c)}")


async def campaign_button(query: CallbackQuery, res: Resources) -> None:
    _, what, raw_id = (query.data or "").split(":", 2)
    await query.answer()
    if not isinstance(query.message, Message) or not raw_id.isdigit():
        return
    campaign_id = int(raw_id)
    if what in ("pause", "resume"):
        by = f"telegram:{query.from_user.username or query.from_user.id}"
        try:
            await set_campaign_running(Ctx(res, job_id=f"bot:{what}:{campaign_id}"), campaign_id,
                                       run=what == "resume", by=by)
        except (CampaignRefused, ApiError, LookupError) as exc:
            await query.message.answer(f"⛔ {esc(exc)}")
            return
    found = [c for c in await _today_campaigns(res) if c["id"] == campaign_id]
    if not found:
        await query.message.answer(f"No campaign {campaign_id}.")
        return
    await query.message.answer(_campaign_text(found[0]), reply_markup=_campaign_keyboard(found[0]))


async def recommendations(message: Message, command: CommandObject, res: Resources) -> None:
    """/recs [campaign id]: open recommendations, each with ✅ Accept / ✖️ Dismiss."""
    arg = (command.args or "").strip()
    if arg and not arg.isdigit():
        await message.answer("Usage: /recs [CAMPAIGN_ID]")
        return
    found = await list_recommendations(res.db, campaign_id=int(arg) if arg else None, limit=10)
    if not found:
        await message.answer("No open recommendations.")
        return
    for r in found:
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="✅ Accept", callback_data=f"{REC_PREFIX}:accept:{r['id']}"),
            InlineKeyboardButton(text="✖️ Dismiss", callback_data=f"{REC_PREFIX}:dismiss:{r['id']}")]])
        await message.answer(f"<b>#{r['id']}</b> · campaign #{r['campaign_id']} {esc(r['campaign'][:40])} · "
                             f"{r['priority']} · {esc(r['kind'])}\n{esc(r['text'])}", reply_markup=keyboard)


async def recommendation_button(query: CallbackQuery, res: Resources) -> None:
    _, what, raw_id = (query.data or "").split(":", 2)
    await query.answer()
    if not isinstance(query.message, Message) or not raw_id.isdigit():
        return
    by = f"telegram:{query.from_user.username or query.from_user.id}"
    try:
        done = await decide(res.db, res.redis, int(raw_id), accept=what == "accept", by=by, now=res.clock.now())
    except (RecommendationRefused, ValueError) as exc:
        await query.message.answer(f"⛔ {esc(exc)}")
        return
    changes = f", {len(done['bid_changes'])} bid changes sent once" if done["bid_changes"] else ""
    await query.message.answer(f"✔️ Recommendation #{raw_id} {done['status']}{changes}.")


async def report(message: Message, command: CommandObject, res: Resources) -> None:
    """/report BRAND|CAMPAIGN_ID FROM TO: generate_report, sent back to this chat as a CSV file."""
    from adolfd.engine.enqueue import enqueue
    from adolfd.engine.jobs import BadArguments

    words = (command.args or "").split()
    if len(words) != 3:
        await message.answer("Usage: /report BRAND|CAMPAIGN_ID FROM TO (dates YYYY-MM-DD)")
        return
    scope, date_from, date_to = words
    kwargs: dict[str, Any] = {"date_from": date_from, "date_to": date_to, "chat_id": message.chat.id}
    kwargs.update({"campaign_id": int(scope)} if scope.isdigit() else {"brand_id": scope})
    try:
        queued = await enqueue(res.redis, "marketing.generate_report", kwargs)
    except BadArguments as exc:
        await message.answer(f"⛔ {esc(exc)}")
        return
    await message.answer(f"📄 Report queued (job <code>{esc(queued.job_id if queued else '?')}</code>); "
                         f"the file comes to this chat.")


_CHART_DAYS = """
SELECT d::date AS day, coalesce(s.spent, 0)::float AS spent, coalesce(s.orders, 0) AS orders,
       (SELECT avg(h.new_bid)::float FROM marketing_bid_history h WHERE h.campaign_id = $1 AND h.status = 'applied'
         AND (h.applied_at AT TIME ZONE 'Europe/Moscow')::date = d::date) AS bid
FROM generate_series($2::date - 13, $2::date, interval '1 day') AS d
LEFT JOIN marketing_stats_daily s ON s.campaign_id = $1 AND s.keyword_id IS NULL AND s.stat_date = d::date
ORDER BY d
"""


async def chart(message: Message, command: CommandObject, res: Resources) -> None:
    """/chart CAMPAIGN_ID: a PNG of the campaign's spend, orders and average bid over the last 14 days."""
    from adolfd.admin.charts import campaign_chart

    arg = (command.args or "").strip()
    if not arg.isdigit():
        await message.answer("Usage: /chart CAMPAIGN_ID (/campaigns lists them)")
        return
    name = await res.db.fetchval("SELECT name FROM marketing_campaigns WHERE id = $1", int(arg))
    if name is None:
        await message.answer(f"No campaign {esc(arg)}.")
        return
    today = res.clock.now().astimezone(res.settings.tz).date()
    rows = await res.db.fetch(_CHART_DAYS, int(arg), today)
    png = campaign_chart(f"#{arg} {name[:50]}: last 14 days", [r["day"] for r in rows], [r["spent"] for r in rows],
                         [r["orders"] for r in rows], [r["bid"] for r in rows])
    await message.answer_photo(BufferedInputFile(png, filename=f"campaign_{arg}.png"),
                               caption=f"#{arg} {esc(name[:60])}: spend, orders, bid — 14 days")


def router() -> Router:
    """A fresh router (a Router can be attached to one dispatcher only)."""
    r = Router(name="marketing")
    r.message.register(pause, Command("pause_bids"))
    r.message.register(resume, Command("resume_bids"))
    r.message.register(campaigns, Command("campaigns"))
    r.message.register(set_campaign_cmd, Command("set_campaign"))
    r.callback_query.register(campaign_button, F.data.startswith(f"{PREFIX}:"))
    r.message.register(recommendations, Command("recs"))
    r.message.register(report, Command("report"))
    r.message.register(chart, Command("chart"))
    r.callback_query.register(recommendation_button, F.data.startswith(f"{REC_PREFIX}:"))
    return r
