"""Bot replies as short HTML lines that read on a phone: problems first, the healthy rest as one line."""
from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from typing import Any

from adolfd.keys import PREFIX

MAX_REPLY = 4000          # under Telegram's 4096, with room for the markup


def esc(value: Any) -> str:
    return html.escape(str(value), quote=False)


def ago(moment: datetime | str | None, now: datetime) -> str:
    if moment is None:
        return "never"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def clock(moment: datetime | str | None, tz: tzinfo) -> str:
    if moment is None:
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%d.%m %H:%M")


def short_queue(name: str) -> str:
    """`adolfd:logistic:sync` → `logistic:sync`."""
    return name.removeprefix(PREFIX)


def compact(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_reply(text: str, limit: int = MAX_REPLY) -> list[str]:
    """Cut a long reply at line ends into messages Telegram accepts (a single overlong line is cut too)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts or ["(empty)"]


# -- status ------------------------------------------------------------------------------------------

def _active_modules(status: dict[str, Any]) -> set[str]:
    return {c["module"] for c in status.get("cron", []) if c["enabled"]}


def render_queues(status: dict[str, Any]) -> list[str]:
    queues = status.get("queues", [])
    active = _active_modules(status)
    lines = []
    idle_down = []
    for q in queues:
        module = q["queue"].split(":")[1]
        name = short_queue(q["queue"])
        if q["worker_alive"]:
            busy = f", {q['running']} running" if q["running"] else ""
            lines.append(f"✅ {esc(name)}: {q['depth']} queued{busy}")
        elif q["depth"] or module in active:
            lines.append(f"⚠️ {esc(name)}: {q['depth']} queued, <b>no worker</b>")
        else:
            idle_down.append(module)
    if idle_down:
        lines.append(f"· not running: {esc(', '.join(sorted(set(idle_down))))}")
    return lines or ["no queues"]


def render_status(status: dict[str, Any], tz: tzinfo) -> str:
    """The whole system at a glance: a line per problem, one line when all is well."""
    now = datetime.fromisoformat(status["time"])
    lines = [f"<b>adolfd</b> · {clock(now, tz)}"]
    queues = status.get("queues", [])
    active = _active_modules(status)
    up = [q for q in queues if q["worker_alive"]]
    stranded = [q for q in queues if not q["worker_alive"] and (q["depth"] or q["queue"].split(":")[1] in active)]
    running = sum(q["running"] for q in queues)
    waiting = sum(q["depth"] for q in queues)
    lines.append(f"{'✅' if not stranded else '⚠️'} workers up on {len(up)}/{len(queues)} queues · "
                 f"{running} running · {waiting} queued")
    by_module: dict[str, list[str]] = {}
    for q in stranded:
        _, module, queue = q["queue"].split(":", 2)
        by_module.setdefault(module, []).append(f"{queue} {q['depth']}" if q["depth"] else queue)
    for module, names in by_module.items():
        lines.append(f"  ⚠️ no worker for {esc(module)} ({esc(', '.join(names))})")

    cron = [c for c in status.get("cron", []) if c["enabled"]]
    overdue = [c for c in cron if c["overdue"]]
    failed_runs = [c for c in cron if c["outcome"] == "failed"]
    never = [c for c in cron if c.get("never_run", c["last_started"] is None)]
    if not overdue and not failed_runs:
        ran = len(cron) - len(never)
        lines.append(f"✅ schedules: {ran} on time" + (f" · {len(never)} never run" if never else ""))
    if never:
        never_names = ", ".join(f"{c['module']}.{c['job']}" for c in never[:5]) + (" …" if len(never) > 5 else "")
        lines.append(f"  ⏳ never run: {esc(never_names)}")
    for c in overdue:
        lines.append(f"  ⏰ {esc(c['module'])}.{esc(c['job'])} overdue (last {ago(c['last_started'], now)})")
    for c in failed_runs:
        lines.append(f"  ❌ {esc(c['module'])}.{esc(c['job'])} last run failed ({ago(c['last_started'], now)})")

    failed = status.get("failed_jobs")
    if failed is not None:
        if failed["open"]:
            lines.append(f"❌ failed jobs: {failed['open']} (newest {clock(failed['newest'], tz)}) → /failed")
        else:
            lines.append("✅ failed jobs: none")

    alerts = status.get("alerts")
    if alerts is not None:
        lines.append(render_alert_line(alerts, now))

    for name, value in status.items():
        if name in ("time", "queues", "cron", "failed_jobs", "alerts"):
            continue
        if name == "bids" and isinstance(value, dict):
            if value.get("bid_cycle") == "PAUSED":
                reason = f" — {esc(value['reason'])}" if value.get("reason") else ""
                lines.append(f"⏸ bid cycle PAUSED by {esc(value.get('by'))} since {clock(value.get('since'), tz)}"
                             f"{reason} → /resume_bids")
            elif "marketing" not in status:          # otherwise the marketing line tells how the cycle runs
                lines.append("▶️ bid cycle: not paused")
            continue
        if name == "marketing" and isinstance(value, dict):
            lines.extend(render_marketing(value, now, tz))
            continue
        if name == "breakers" and isinstance(value, list):
            problems = [b for b in value if b.get("state") != "closed"]
            lines.append(f"✅ breakers: {len(value)} closed" if not problems else "⚠️ breakers:")
            lines.extend(f"  {line}" for line in render_breakers(problems, tz) if problems)
            continue
        lines.extend(render_section(name, value))
    return "\n".join(lines)


def render_alert_line(alerts: dict[str, Any], now: datetime) -> str:
    delivery = f"bot delivered {ago(alerts.get('last_pass'), now)}"
    if "undelivered" not in alerts:
        return f"🔔 alerts: {delivery}"
    failing = alerts.get("failing_chats") or []
    mark = "⚠️" if failing or alerts["undelivered"] else "🔔"
    text = (f"{mark} alerts 24h: {alerts['last_24h']} ({alerts['severe_24h']} severe) · "
            f"{alerts['undelivered']} waiting · {delivery}")
    for chat in failing[:3]:
        text += f"\n  ⚠️ chat {chat['chat_id']}: {chat['waiting']} waiting, {esc(compact(chat['error'], 80))}"
    return text


def render_section(name: str, value: Any) -> list[str]:
    """A module's own status section (bid cycle, breakers …), shown as its items, compactly."""
    title = esc(name.replace("_", " "))
    if isinstance(value, dict):
        items = [f"  {esc(k)}: {esc(compact(v, 120))}" for k, v in value.items()]
        return [f"• {title}:", *items] if items else [f"• {title}: -"]
    if isinstance(value, list):
        items = [f"  {esc(compact(v, 120))}" for v in value]
        return [f"• {title}:", *items] if items else [f"• {title}: none"]
    return [f"• {title}: {esc(compact(value, 200))}"]


# -- schedule, jobs, failures ------------------------------------------------------------------------

def render_schedule(rows: Iterable[dict[str, Any]], tz: tzinfo, module: str | None = None) -> str:
    lines = []
    off = set()
    for r in rows:
        if module and r["module"] != module:
            continue
        if not r["enabled"]:
            off.add(r["module"])
            continue
        nxt = clock(r["next"][0], tz) if r["next"] else "-"
        lines.append(f"{esc(r['module'])}.{esc(r['job'])} → {nxt}")
    head = f"<b>Schedule</b>{' · ' + esc(module) if module else ''} (next run, {esc(getattr(tz, 'key', tz))})"
    if off:
        lines.append(f"· schedules off: {esc(', '.join(sorted(off)))}")
    return "\n".join([head, *(lines or ["no schedules"])])


def render_job(info: dict[str, Any], tz: tzinfo) -> str:
    status = info["status"]
    if status == "not_found":
        return f"No job <code>{esc(info['job_id'])}</code> (unknown, or its result expired after 24 h)."
    mark = {"complete": "✅" if info.get("success") else "❌", "in_progress": "⏳", "queued": "🕒",
            "deferred": "🕒"}.get(status, "·")
    lines = [f"{mark} <b>{esc(info.get('function', '?'))}</b> · {esc(status)}",
             f"id: <code>{esc(info['job_id'])}</code>", f"queue: {esc(short_queue(info.get('queue') or '-'))}"]
    if info.get("tries"):
        lines.append(f"try: {info['tries']}")
    if info.get("args"):
        lines.append(f"args: {esc(compact(info['args'], 300))}")
    if info.get("started"):
        lines.append(f"ran: {clock(info['started'], tz)} → {clock(info.get('finished'), tz)}")
    elif info.get("enqueued"):
        lines.append(f"queued: {clock(info['enqueued'], tz)}")
    if "result" in info:
        lines.append(f"result: <code>{esc(compact(info['result'], 1500))}</code>")
    return "\n".join(lines)


def render_failed(rows: list[Any], tz: tzinfo) -> str:
    if not rows:
        return "✅ No failed jobs waiting."
    lines = [f"<b>Failed jobs</b> ({len(rows)} newest)"]
    for r in rows:
        lines.append(f"#{r['id']} {clock(r['failed_at'], tz)} <b>{esc(r['module'])}.{esc(r['job_name'])}</b> "
                     f"×{r['tries']}\n  {esc(compact(r['error'], 160))}\n  /retry {r['id']}")
    return "\n".join(lines)


async def answer(message: Any, text: str) -> None:
    """Reply in as many messages as the text needs (each within Telegram's limit), in order."""
    for part in split_reply(text):
        await message.answer(part)


def render_breakers(rows: list[dict[str, Any]], tz: tzinfo) -> list[str]:
    """One line per breaker that is not closed; the closed ones folded into one line."""
    lines = []
    closed = []
    for b in rows:
        if b["state"] == "closed":
            closed.append(b["breaker"])
            continue
        mark = "🔴" if b["state"] == "open" else "🟡"
        retry = f", retry {clock(b['retry_at'], tz)}" if b.get("retry_at") else ""
        error = f"\n    {esc(compact(b['last_error'], 100))}" if b.get("last_error") else ""
        lines.append(f"{mark} {esc(b['breaker'])}: <b>{esc(b['state'])}</b>, {b['failures']} failures{retry}{error}")
    if closed:
        lines.append(f"✅ closed: {esc(', '.join(closed))}")
    return lines or ["no breakers"]


def render_marketing(section: dict[str, Any], now: datetime, tz: tzinfo) -> list[str]:
    """The bid cycle's last run and the ad APIs' health (the kill switch has its own line)."""
    last = section.get("last_bid_cycle") or {}
    if section.get("bid_cycle_running"):
        cycle = "⏳ bid cycle: running now"
    elif last:
        outcome = last.get("status", "?")
        mark = "✅" if outcome in ("success", "completed") else ("⏸" if outcome == "skipped" else "⚠️")
        counts = ", ".join(f"{last[k]} {label}" for k, label in (("bids_updated", "bids"), ("errors", "errors"))
                           if k in last)
        cycle = (f"{mark} bid cycle: last {clock(last.get('started_at'), tz)} {esc(outcome)}"
                 f"{' (' + esc(last['reason']) + ')' if last.get('reason') else ''}{', ' + counts if counts else ''}")
    else:
        cycle = "· bid cycle: no run in the last hour"
    apis = section.get("api_status") or {}
    health = [f"{esc(mp)} {esc(info.get('status', '?'))}" for mp, info in apis.items() if info]
    lines = [cycle]
    if health:
        bad = any(not h.endswith(" ok") for h in health)
        lines.append(f"{'⚠️' if bad else '✅'} ad APIs: {' · '.join(health)}")
    return lines
