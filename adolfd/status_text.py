"""`adolfd status` as text: short lines that also read well on a phone (the bot reuses them)."""
from __future__ import annotations

from datetime import datetime
from typing import Any


def _ago(iso: str | None, now: datetime) -> str:
    if not iso:
        return "never"
    seconds = int((now - datetime.fromisoformat(iso)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def render_queues(status: dict[str, Any]) -> list[str]:
    lines = ["Queues (depth / running, worker):"]
    for q in status["queues"]:
        if q["depth"] or q["worker_alive"]:
            alive = "up" if q["worker_alive"] else "NO WORKER"
            lines.append(f"  {q['queue']}: {q['depth']} / {q['running']}, {alive}")
    return lines


def render_cron(status: dict[str, Any], *, enabled_only: bool = True) -> list[str]:
    now = datetime.fromisoformat(status["time"])
    lines = ["Cron (last run, outcome):"]
    for c in status["cron"]:
        if enabled_only and not c["enabled"]:
            continue
        flag = "  OVERDUE" if c["overdue"] else ""
        lines.append(f"  {c['module']}.{c['job']}: {_ago(c['last_started'], now)}, {c['outcome'] or '-'}{flag}")
    disabled = sorted({c["module"] for c in status["cron"] if not c["enabled"]})
    if enabled_only and disabled:
        lines.append(f"  (schedules off: {', '.join(disabled)})")
    return lines


def render_status(status: dict[str, Any]) -> str:
    lines = [f"adolfd status at {status['time'][:19]}Z", *render_queues(status), *render_cron(status)]
    if "failed_jobs" in status:
        lines.append(f"Failed jobs waiting: {status['failed_jobs']['open']}")
    for key, value in status.items():
        if key not in ("time", "queues", "cron", "failed_jobs"):
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
