"""/watcher VERB …: the operator's watcher commands in the admin bot (the same functions as `adolfd watcher`,
adolfd.workers.watcher.operator). The CSV import is the CLI's only: a file belongs on the server."""
from __future__ import annotations

from datetime import date
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from adolfd.admin.bot.replies import ago, answer, esc
from adolfd.engine.context import Ctx, Resources
from adolfd.workers.watcher import operator as op

USAGE = {
    "products": "[MARKETPLACE]",
    "add-product": "SKU MARKETPLACE BRAND",
    "remove-product": "SKU MARKETPLACE",
    "competitors": "[OUR_SKU]",
    "add-competitor": "OUR_SKU MARKETPLACE COMPETITOR_SKU [PRIORITY]",
    "remove-competitor": "ID",
    "agents": "",
    "clear-panic": "AGENT",
    "unblock-ip": "IP",
    "alerts": "",
    "resolve-alert": "ID",
    "generation": "[YYYY-MM-DD]",
    "queues": "",
    "regenerate": "[YYYY-MM-DD]",
}


def _who(message: Message) -> str:
    user = message.from_user
    return f"telegram:{user.username or user.id}" if user else "telegram"


def _usage() -> str:
    return "Usage: /watcher VERB …\n" + "\n".join(f"/watcher {esc(v)} {esc(a)}".rstrip() for v, a in USAGE.items())


class _Usage(Exception):
    """The words do not fit the verb."""


def _id(word: str) -> int:
    if not word.lstrip("#").isdigit():
        raise op.Refused(f"expected a number, got {word!r}")
    return int(word.lstrip("#"))


def _day(words: list[str]) -> date | None:
    if not words:
        return None
    try:
        return date.fromisoformat(words[0])
    except ValueError:
        raise op.Refused(f"expected a date as YYYY-MM-DD, got {words[0]!r}") from None


def _need(words: list[str], low: int, high: int | None = None) -> None:
    if not low <= len(words) <= (high if high is not None else low):
        raise _Usage


async def _run(ctx: Ctx, verb: str, words: list[str], by: str) -> str:
    if verb == "products":
        _need(words, 0, 1)
        rows = await op.list_products(ctx, words[0] if words else None)
        return "\n".join([f"<b>Monitored products</b> ({len(rows)})"] + [
            f"{esc(r['sku'])} · {r['marketplace']} · {esc(r['brand_id'])} · competitors {r['competitors']}"
            for r in rows]) if rows else "No monitored products."
    if verb == "add-product":
        _need(words, 3)
        out = await op.add_product(ctx, words[0], words[1], words[2], by=by)
        return f"✅ product {esc(out['sku'])} ({out['marketplace']}, {esc(out['brand'])}): {out['status']}"
    if verb == "remove-product":
        _need(words, 2)
        out = await op.remove_product(ctx, words[0], words[1], by=by)
        return f"✅ product {esc(out['sku'])} ({out['marketplace']}) no longer watched"
    if verb == "competitors":
        _need(words, 0, 1)
        rows = await op.list_competitors(ctx, words[0] if words else None)
        return "\n".join([f"<b>Competitors</b> ({len(rows)})"] + [
            f"#{r['id']} {esc(r['competitor_sku'])} vs {esc(r['our_sku'])} · {r['marketplace']} · "
            f"priority {r['priority']}" for r in rows]) if rows else "No competitors watched."
    if verb == "add-competitor":
        _need(words, 3, 4)
        out = await op.add_competitor(ctx, words[0], words[1], words[2],
                                      priority_value=words[3] if len(words) > 3 else None, by=by)
        return (f"✅ competitor #{out['competitor_id']} {esc(out['competitor_sku'])} vs {esc(out['our_sku'])} "
                f"({out['marketplace']}): {out['status']}")
    if verb == "remove-competitor":
        _need(words, 1)
        out = await op.remove_competitor(ctx, _id(words[0]), by=by)
        return f"✅ competitor #{out['competitor_id']} no longer watched"
    if verb == "agents":
        _need(words, 0)
        return _agents(await op.list_agents(ctx), ctx)
    if verb == "clear-panic":
        _need(words, 1)
        out = await op.clear_panic(ctx, words[0], by=by)
        return f"✅ agent {esc(out['agent'])}: panic cleared"
    if verb == "unblock-ip":
        _need(words, 1)
        out = await op.unblock_ip(ctx, words[0], by=by)
        return f"✅ IP {esc(out['ip'])} unblocked"
    if verb == "alerts":
        _need(words, 0)
        rows = await op.open_alerts(ctx)
        return "\n".join(["<b>Open watcher alerts</b>"] + [
            f"#{r['id']} {r['alert_type']} · {r['severity']} · {esc(r['sku'])} ({r['marketplace']}) → "
            f"/watcher resolve-alert {r['id']}" for r in rows]) if rows else "✅ No open watcher alerts."
    if verb == "resolve-alert":
        _need(words, 1)
        out = await op.resolve_alert(ctx, _id(words[0]), by=by)
        return f"✅ alert #{out['alert_id']} resolved"
    if verb == "generation":
        _need(words, 0, 1)
        out = await op.generation_record(ctx, _day(words) or ctx.now().date())
        record = out["record"] or {}
        tasks = ", ".join(f"{k} {v}" for k, v in out["tasks"].items()) or "none"
        if not record:
            return f"No generation record for {out['date']}; tasks: {tasks}"
        return "\n".join([f"<b>Generation {out['date']}</b>: {esc(record.get('status', '?'))}",
                          *(f"{esc(k)}: {esc(v)}" for k, v in sorted(record.items()) if k != "status"),
                          f"tasks: {tasks}"])
    if verb == "queues":
        _need(words, 0)
        return "<b>Agent queues</b>\n" + "\n".join(f"{m}: {n}" for m, n in (await op.queues(ctx)).items())
    if verb == "regenerate":
        _need(words, 0, 1)
        out = await op.regenerate(ctx, _day(words), by=by)
        return f"✅ regenerate_failed_tasks for {out['date']} {out['status']}: <code>{esc(out['job_id'])}</code>"
    raise _Usage


def _agents(rows: list[dict[str, Any]], ctx: Ctx) -> str:
    if not rows:
        return "No agents have reported yet."
    now = ctx.now()
    lines = [f"<b>Agents</b> ({len(rows)})"]
    for r in rows:
        marks = ("" if r["cookies_valid"] else " · ⚠️ cookies invalid") + (" · IP blocked" if r["ip_blocked"] else "")
        lines.append(f"{esc(r['name'])} · {r['marketplace']} · {r['status']} · heartbeat "
                     f"{ago(r['last_heartbeat'], now)} · {esc(r['ip'] or '-')}{marks}")
    return "\n".join(lines)


async def watcher(message: Message, command: CommandObject, res: Resources) -> None:
    words = (command.args or "").split()
    if not words or words[0] not in USAGE:
        await message.answer(_usage())
        return
    verb, rest = words[0], words[1:]
    try:
        text = await _run(Ctx(res), verb, rest, _who(message))
    except _Usage:
        await message.answer(f"Usage: /watcher {esc(verb)} {esc(USAGE[verb])}".rstrip())
        return
    except op.Refused as exc:
        await message.answer(f"❌ {esc(exc)}")
        return
    await answer(message, text)


def router() -> Router:
    """A fresh router (a Router can be attached to one dispatcher only)."""
    r = Router(name="watcher")
    r.message.register(watcher, Command("watcher"))
    return r
