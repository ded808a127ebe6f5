"""Telling people: watcher alerts and agent trouble go through the platform's alerts table and its Telegram
delivery (adolfd/admin/alert_delivery.py). The seed's recipients are users (seed 001 §7.4 `_get_alert_recipients`):
their chats get rows of `alert_deliveries` for the platform alert, chosen by `domain.watcher.recipients`;
the delivery pass sends them (and adds the configured alert chats by the same rule). Everything is keyed, so
repeating a notification adds nothing."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from adolfd.admin.alerts import raise_alert
from adolfd.domain.watcher.recipients import User
from adolfd.workers.watcher import MODULE_NAME

_USERS = "SELECT id, role, brand_id, telegram_chat_id FROM users WHERE is_active"
_ROUTE = """
INSERT INTO alert_deliveries (alert_id, chat_id, created_at, next_attempt_at)
SELECT $1, chat_id, $3, $3 FROM unnest($2::bigint[]) AS chat_id
ON CONFLICT (alert_id, chat_id) DO NOTHING
"""


async def active_users(conn: asyncpg.Connection | asyncpg.Pool) -> list[User]:
    return [User(r["id"], r["role"], r["brand_id"], r["telegram_chat_id"]) for r in await conn.fetch(_USERS)]


async def tell(conn: asyncpg.Connection, users: Sequence[User], *, alert_type: str, severity: str, message: str,
               dedup_key: str, now: datetime, brand_id: str | None = None, **details: Any) -> int | None:
    """One platform alert (once per dedup key) routed to these users' chats; returns the platform alert id."""
    alert_id = await raise_alert(conn, module=MODULE_NAME, alert_type=alert_type, severity=severity, message=message,
                                 brand_id=brand_id, details=details, dedup_key=dedup_key)
    if alert_id is None:
        alert_id = await conn.fetchval("SELECT id FROM alerts WHERE module = $1 AND dedup_key = $2 "
                                       "ORDER BY id DESC LIMIT 1", MODULE_NAME, dedup_key)
    chats = sorted({u.chat_id for u in users if u.chat_id is not None})
    if alert_id is not None and chats:
        await conn.execute(_ROUTE, alert_id, chats, now)
    return alert_id
