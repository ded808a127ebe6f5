"""Who gets an alert, and how alerts read in a Telegram chat.

Recipients by role follow the seed of the alert's module. Marketing alerts follow seed 002 §7.3.7
(`_get_alert_recipients`): brand managers always; senior, director and administrator too for warning and
critical. Every other module (watcher's own seed 001 §7.4, and the modules whose seeds name no recipients)
follows seed 001 §7.4: critical → brand managers + senior + director + admin; warning → brand managers +
senior; info → brand managers. A manager with brand `all` gets every brand, and alerts without a brand (a
failed job) reach only such managers; the other roles get every brand. adolfd's six severities map onto the
seeds' three: high and critical count as critical, medium and warning as warning, low and info as info. A chat
may narrow what it receives further (some modules only, a severity floor).

Alerts waiting for one chat are sent as digests: several alerts per message, the most severe first,
identical ones (same module, type, brand, severity and text) folded into one line with a count, each message
within Telegram's 4096 characters, HTML-escaped.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

SEVERITIES = ("info", "low", "medium", "warning", "high", "critical")
ROLES = ("manager", "senior", "director", "admin")
MAX_MESSAGE = 4096

# seed 001 §7.4 by the seed's three levels
_SEED_LEVEL = {"info": "info", "low": "info", "medium": "warning", "warning": "warning", "high": "critical",
               "critical": "critical"}
_ROLES_BY_LEVEL = {
    "critical": frozenset({"manager", "senior", "director", "admin"}),
    "warning": frozenset({"manager", "senior"}),
    "info": frozenset({"manager"}),
}
# seed 002 §7.3.7: senior and above for warning and critical, the brand's managers for everything
_MARKETING_ROLES_BY_LEVEL = {
    "critical": frozenset({"manager", "senior", "director", "admin"}),
    "warning": frozenset({"manager", "senior", "director", "admin"}),
    "info": frozenset({"manager"}),
}
_ROLES_BY_MODULE = {"marketing": _MARKETING_ROLES_BY_LEVEL}
_MARK = {"critical": "🔴", "high": "🟠", "warning": "🟡", "medium": "🟡", "low": "🔵", "info": "🔵"}


def severity_rank(severity: str) -> int:
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise ValueError(f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}") from None


def roles_for(severity: str, module: str | None = None) -> frozenset[str]:
    """The roles an alert of this severity from this module goes to (seed 002 §7.3.7 for marketing, seed 001
    §7.4 for the others)."""
    severity_rank(severity)
    return _ROLES_BY_MODULE.get(module or "", _ROLES_BY_LEVEL)[_SEED_LEVEL[severity]]


@dataclass(frozen=True)
class AlertChat:
    """A Telegram chat that receives alerts as one role; managers are bound to a brand (or `all`)."""

    chat_id: int
    role: str
    brand: str = "all"
    modules: frozenset[str] = frozenset()    # empty: every module
    min_severity: str = "info"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {', '.join(ROLES)}")
        severity_rank(self.min_severity)


@dataclass(frozen=True)
class Alert:
    id: int
    module: str
    alert_type: str
    severity: str
    message: str
    created_at: datetime
    brand_id: str | None = None
    resolved: bool = False
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def receives(chat: AlertChat, alert: Alert) -> bool:
    if chat.role not in roles_for(alert.severity, alert.module):
        return False
    if severity_rank(alert.severity) < severity_rank(chat.min_severity):
        return False
    if chat.modules and alert.module not in chat.modules:
        return False
    if chat.role == "manager":
        return chat.brand == "all" or (alert.brand_id is not None and chat.brand == alert.brand_id)
    return True


def recipients(alert: Alert, chats: Iterable[AlertChat]) -> tuple[int, ...]:
    """Chat ids that get this alert, each once even when several of its roles match."""
    return tuple(sorted({chat.chat_id for chat in chats if receives(chat, alert)}))


MAX_BUTTONS = 20


@dataclass(frozen=True)
class Digest:
    """One Telegram message (HTML), the alerts it carries, and the inline buttons those alerts offer
    (`details["buttons"]`: `{"text", "callback_data"}` each, one per row, at most MAX_BUTTONS)."""

    text: str
    alert_ids: tuple[int, ...]
    buttons: tuple[tuple[str, str], ...] = ()


def _buttons(alerts: Iterable[Alert]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for alert in alerts:
        if alert.resolved:
            continue
        for b in alert.details.get("buttons") or ():
            if isinstance(b, dict) and isinstance(b.get("text"), str) and isinstance(b.get("callback_data"), str):
                found.setdefault(b["callback_data"], b["text"])
    return tuple((text, data) for data, text in found.items())[:MAX_BUTTONS]


def _when(moment: datetime, now: datetime, tz: tzinfo) -> str:
    local, today = moment.astimezone(tz), now.astimezone(tz)
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%d.%m %H:%M")


def _block(group: Sequence[Alert], now: datetime, tz: tzinfo, room: int) -> str:
    first, last = group[0], group[-1]
    where = " · ".join(part for part in (first.module, first.brand_id) if part)
    count = f" ×{len(group)}" if len(group) > 1 else ""
    when = _when(first.created_at, now, tz)
    if len(group) > 1 and _when(last.created_at, now, tz) != when:
        when = f"{when}–{_when(last.created_at, now, tz)}"
    resolved = " (resolved since)" if all(a.resolved for a in group) else ""
    head = (f"{_MARK[first.severity]} <b>{html.escape(first.alert_type[:100])}</b>{count} · "
            f"{html.escape(where[:200])}{resolved}\n")
    tail = f"\n<i>{when} · #{first.id}</i>"
    space = room - len(head) - len(tail)
    return head + _fitted(first.message, space) + tail


def _fitted(message: str, space: int) -> str:
    """The escaped message, cut (with "…") to the longest prefix whose escaped form fits in `space`."""
    body = html.escape(message, quote=False)
    if len(body) <= space:
        return body
    low, high = 0, len(message)                   # escaping lengthens unevenly: search the prefix length
    while low < high:
        mid = (low + high + 1) // 2
        if len(html.escape(message[:mid], quote=False)) + 1 <= space:
            low = mid
        else:
            high = mid - 1
    return html.escape(message[:low], quote=False) + "…"


def _groups(alerts: Iterable[Alert]) -> list[list[Alert]]:
    ordered = sorted(alerts, key=lambda a: (-severity_rank(a.severity), a.created_at, a.id))
    groups: dict[tuple[str, str, str | None, str, str], list[Alert]] = {}
    for alert in ordered:
        groups.setdefault((alert.module, alert.alert_type, alert.brand_id, alert.severity, alert.message),
                          []).append(alert)
    return list(groups.values())


def render_digests(alerts: Iterable[Alert], now: datetime, tz: tzinfo, limit: int = MAX_MESSAGE) -> list[Digest]:
    """Pack alerts into as few messages as fit, most severe first; every alert lands in exactly one message."""
    digests: list[Digest] = []
    text = ""
    carried: list[Alert] = []
    for group in _groups(alerts):
        block = _block(group, now, tz, limit)
        joined = f"{text}\n\n{block}" if text else block
        if text and len(joined) > limit:
            digests.append(Digest(text, tuple(a.id for a in carried), _buttons(carried)))
            text, carried = block, []
        else:
            text = joined
        carried.extend(group)
    if text:
        digests.append(Digest(text, tuple(a.id for a in carried), _buttons(carried)))
    return digests


def retry_delay(attempts: int, *, permanent: bool, retry_after: float | None = None) -> float:
    """Seconds before the next try for a chat. Telegram being down or busy is retried on the next pass (or after
    its retry_after); a refusal for the chat itself (bot blocked, chat gone) backs off 1, 2, 4 … 60 minutes so
    the alerts wait for the chat to be fixed without hammering it."""
    if not permanent:
        return max(retry_after or 0.0, 0.0)
    return float(min(60 * 2 ** max(attempts - 1, 0), 3600))
