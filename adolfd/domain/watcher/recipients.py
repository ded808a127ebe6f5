"""Who is told of a watcher alert (seed 001 §7.4 `_get_alert_recipients`): the platform's routing rule
(`adolfd.domain.alert_routing`) applied to the `users` table instead of configured chats — critical → brand
managers + senior + director + admin; warning → brand managers + senior; info → brand managers; a manager
with brand `all` gets every brand. The `users` role `administrator` is the seed's `admin`."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from adolfd.domain.alert_routing import Alert, AlertChat, receives

ROLE_ALIASES = {"administrator": "admin"}


@dataclass(frozen=True)
class User:
    user_id: int
    role: str
    brand_id: str = "all"
    chat_id: int | None = None


def recipients(users: Iterable[User], *, severity: str, brand_id: str | None, at: datetime) -> tuple[User, ...]:
    """Active users who receive an alert of this severity and brand, each once, by user id."""
    probe = Alert(id=0, module="watcher", alert_type="", severity=severity, message="", created_at=at,
                  brand_id=brand_id)
    chosen = {u.user_id: u for u in users
              if receives(AlertChat(chat_id=u.user_id, role=ROLE_ALIASES.get(u.role, u.role), brand=u.brand_id),
                          probe)}
    return tuple(chosen[k] for k in sorted(chosen))


def admins(users: Iterable[User]) -> tuple[User, ...]:
    """The administrators (agent panic and cookie warnings go to them, seed §7.5)."""
    return tuple(sorted((u for u in users if ROLE_ALIASES.get(u.role, u.role) == "admin"), key=lambda u: u.user_id))
