"""/breakers and /approve: review polling breakers and reply approval (seed 003), via adolfd.workers.reputation."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from adolfd.admin.bot.replies import MAX_REPLY, answer, compact, esc, render_breakers
from adolfd.engine.context import Resources
from adolfd.workers.reputation import approval
from adolfd.workers.reputation.breakers import breaker_status

PENDING_SHOWN = 10
HEAD_TEXT = 200         # characters of the customer's text shown above the reply


async def breakers(message: Message, res: Resources) -> None:
    rows = await breaker_status(res.redis, res.db)
    await answer(message, "\n".join(["<b>Polling breakers</b>", *render_breakers(rows, res.settings.tz)]))


def plain_chunks(text: str, budget: int) -> list[str]:
    """Cut plain text (before escaping) into pieces whose escaped HTML fits `budget`, at spaces where possible:
    a piece is escaped on its own, so no message ever ends inside an entity or a tag."""
    chunks: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(esc(candidate)) <= budget:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = ""
        while len(esc(word)) > budget:                 # one word longer than a message: cut by characters
            cut = budget
            while len(esc(word[:cut])) > budget:
                cut -= 1
            chunks.append(word[:cut])
            word = word[cut:]
        current = word
    if current or not chunks:
        chunks.append(current)
    return chunks


def render_item(item: dict) -> list[str]:
    """One waiting item: what the customer wrote, why it is escalated or held, and the whole reply that will be
    published — in as many blocks as Telegram's limit needs."""
    stars = f"{item['rating']}★ " if item.get("rating") is not None else ""
    mark = "🔴 " if item.get("escalate") else ""
    head = f"{mark}#{item['id']} {esc(item['platform'])} {esc(item['item_type'])} {stars}{esc(item['brand_id'])}"
    if item.get("escalate"):
        reasons = (item.get("ai_analysis") or {}).get("reasons") or ["model"]
        head += f" · <b>escalated</b>: {esc(', '.join(reasons))}"
    head += f"\n  «{esc(compact(item['text'] or '', HEAD_TEXT))}»"
    if item.get("guard_reason"):
        head += f"\n  ⛔ held: {esc(compact(item['guard_reason'], HEAD_TEXT))}"
    footer = f"\n  /approve {item['id']}"
    draft = item["draft"] or "(no draft)"
    whole = f"{head}\n  → {esc(draft)}{footer}"
    if len(whole) <= MAX_REPLY:
        return [whole]
    pieces = plain_chunks(draft, MAX_REPLY - len(head) - 60)
    n = len(pieces)
    blocks = [f"{head}\n  → (1/{n}) {esc(pieces[0])}"]
    blocks += [f"#{item['id']} → ({i}/{n}) {esc(piece)}" for i, piece in enumerate(pieces[1:], start=2)]
    blocks[-1] += footer
    return blocks


def render_pending(items: list[dict]) -> list[str]:
    """Messages listing what waits for review, escalated first (as `list_items` orders them), each reply whole."""
    escalated = sum(1 for i in items if i.get("escalate"))
    title = f"<b>Waiting for review</b> ({len(items)} shown"
    title += f", {escalated} escalated)" if escalated else ")"
    messages: list[str] = []
    current = title
    for block in (b for item in items for b in render_item(item)):
        if len(current) + 2 + len(block) <= MAX_REPLY:
            current = f"{current}\n\n{block}"
        else:
            messages.append(current)
            current = block
    messages.append(current)
    return messages


async def approve(message: Message, command: CommandObject, res: Resources) -> None:
    """`/approve 42` publishes the drafted reply; `/approve 42 text…` publishes the operator's text instead;
    `/approve` alone lists what waits for review, escalated items first, each with the whole reply."""
    words = (command.args or "").split(maxsplit=1)
    if not words:
        items = await approval.list_items(res.db, "pending_review", PENDING_SHOWN)
        if not items:
            await message.answer("✅ Nothing waits for review.")
            return
        for part in render_pending(items):
            await message.answer(part)
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
