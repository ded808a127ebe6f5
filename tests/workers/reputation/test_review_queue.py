"""The operator's review queue: escalated items first with an alert, and `/approve` showing each whole reply."""
from __future__ import annotations

import html
import re

from adolfd.workers.reputation.approval import approve, list_items, skip
from adolfd.workers.reputation.bot import plain_chunks, render_pending

SAFETY = "Сильный химический запах, у ребёнка появилась сыпь."


async def test_escalated_items_alert_and_lead_the_queue(res, feed, poll, items):
    # the last item of each brand's stream is a 1-star safety complaint; the rest are the seeded mix
    feed("ozon", backlog=6, written={f"{b}:review:5": {"rating": 1, "text": SAFETY}
                                     for b in ("ohana_market", "ohana_kids")})
    await poll("ozon", "review")
    rows = await items(platform="ozon", item_type="review")
    escalated = [r for r in rows if r["ai_analysis"]["escalate"]]
    calm = [r for r in rows if not r["ai_analysis"]["escalate"]]
    assert escalated and calm and max(r["id"] for r in escalated) > min(r["id"] for r in calm)

    queue = await list_items(res.db, "pending_review", 50)
    flags = [q["escalate"] for q in queue]
    assert flags == sorted(flags, reverse=True), flags                  # every escalated one before any calm one
    safety_first = [q["id"] for q in queue if "safety" in q["ai_analysis"]["reasons"]]
    assert [q["id"] for q in queue[:len(safety_first)]] == safety_first

    alerts = {a["dedup_key"]: a for a in await res.db.fetch(
        "SELECT * FROM alerts WHERE alert_type = 'REPUTATION_ESCALATION'")}
    assert set(alerts) == {f"escalation:{r['id']}" for r in escalated}
    safety_alert = alerts[f"escalation:{safety_first[0]}"]
    assert safety_alert["severity"] == "high" and "сыпь" in safety_alert["message"]

    await poll("ozon", "review")                                         # polling again raises nothing new
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'REPUTATION_ESCALATION'") \
        == len(escalated)
    await approve(res.db, res.redis, safety_first[0], by="anna", text="Здравствуйте! Нам очень жаль, мы "
                  "передали ваш отзыв в отдел качества.")
    await skip(res.db, escalated[-1]["id"] if escalated[-1]["id"] != safety_first[0] else escalated[0]["id"],
               by="anna")
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'REPUTATION_ESCALATION' "
                                 "AND resolved_at IS NULL") == len(escalated) - 2


def visible(message: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", message))


def test_approve_listing_shows_the_whole_reply_split_safely():
    draft = " ".join(["Спасибо && до встречи <3 <3 &!"] * 100)                   # 3000 characters, many &, <
    assert len(draft) >= 3000 and len(html.escape(draft, quote=False)) > 4000
    items = [{"id": 7, "platform": "wb", "item_type": "review", "brand_id": "ohana_kids", "rating": 5,
              "text": "ok", "draft": draft, "escalate": False, "ai_analysis": {}, "guard_reason": None},
             {"id": 3, "platform": "ozon", "item_type": "review", "brand_id": "ohana_kids", "rating": 1,
              "text": SAFETY, "draft": "Нам очень жаль.", "escalate": True,
              "ai_analysis": {"reasons": ["low_rating", "safety"]}, "guard_reason": "link (t.me/x)"}]
    messages = render_pending(items)
    assert len(messages) >= 2 and all(len(m) <= 4000 for m in messages)
    for m in messages:
        assert not re.search(r"&[a-z#0-9]*$", m) and m.count("<b>") == m.count("</b>")   # no cut entity or tag
    shown = " ".join(visible(m) for m in messages)
    pieces = re.findall(r"→ (?:\(\d+/\d+\) )?(.*?)(?:\n|$)", "\n".join(visible(m) for m in messages))
    assert " ".join(p for p in pieces if "Спасибо" in p) == draft                     # the whole text, in order
    assert "⛔ held: link (t.me/x)" in shown and "escalated: low_rating, safety" in shown


def test_plain_chunks_never_exceed_the_budget():
    text = "&&&&" * 50 + " " + "x" * 30 + " <b>"
    chunks = plain_chunks(text, 40)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")
    assert all(len(html.escape(c, quote=False)) <= 40 for c in chunks)
