"""Alerts of every module go to one table; delivery to Telegram reads it (by severity, role and brand).

A `dedup_key` makes raising idempotent: while an alert with the same key is open (not resolved), raising it
again does nothing. Severities: info, low, medium, warning, high, critical.
"""
from __future__ import annotations

from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)
SEVERITIES = ("info", "low", "medium", "warning", "high", "critical")

_INSERT = """
INSERT INTO alerts (module, alert_type, severity, brand_id, message, details, dedup_key)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (module, dedup_key) WHERE resolved_at IS NULL AND dedup_key IS NOT NULL DO NOTHING
RETURNING id
"""


async def raise_alert(
    db: asyncpg.Pool | asyncpg.Connection,
    *,
    module: str,
    alert_type: str,
    severity: str,
    message: str,
    brand_id: str | None = None,
    details: dict[str, Any] | None = None,
    dedup_key: str | None = None,
) -> int | None:
    """Insert an alert; returns its id, or None when an open alert with the same dedup key exists."""
    severity = severity.lower()
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    alert_id = await db.fetchval(_INSERT, module, alert_type, severity, brand_id, message, details or {},
                                 dedup_key)
    if alert_id is not None:
        log.info("alert_raised", module=module, alert_type=alert_type, severity=severity, brand=brand_id,
                 alert_id=alert_id)
    return alert_id


async def resolve_alerts(db: asyncpg.Pool | asyncpg.Connection, *, module: str, dedup_keys: list[str]) -> int:
    """Close open alerts by key; returns how many were closed."""
    if not dedup_keys:
        return 0
    closed = await db.fetch(
        "UPDATE alerts SET resolved_at = now() WHERE module = $1 AND dedup_key = ANY($2::text[]) "
        "AND resolved_at IS NULL RETURNING id",
        module, dedup_keys,
    )
    return len(closed)


class AlertRefused(LookupError):
    """No such alert, or it is already in the asked state; nothing was changed."""


_OPEN = """
SELECT id, module, alert_type, severity, brand_id, message, created_at, acknowledged_at, acknowledged_by
FROM alerts WHERE resolved_at IS NULL AND ($1::text IS NULL OR module = $1)
ORDER BY array_position(ARRAY['critical','high','warning','medium','low','info'], severity), id DESC
LIMIT $2
"""


async def open_alerts(db: asyncpg.Pool, *, module: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Unresolved alerts, most severe first (the bot's /alerts, `adolfd alerts`)."""
    return [dict(r) for r in await db.fetch(_OPEN, module, limit)]


async def acknowledge_alert(db: asyncpg.Pool, alert_id: int, *, by: str, now: Any) -> dict[str, Any]:
    """A person has read the alert (retention then treats it as read); it stays open until resolved."""
    row = await db.fetchrow(
        "UPDATE alerts SET acknowledged_at = $2, acknowledged_by = $3 WHERE id = $1 AND acknowledged_at IS NULL "
        "RETURNING id", alert_id, now, by)
    if row is None:
        state = await db.fetchval("SELECT acknowledged_by FROM alerts WHERE id = $1", alert_id)
        if state is None and not await db.fetchval("SELECT true FROM alerts WHERE id = $1", alert_id):
            raise AlertRefused(f"no alert {alert_id}")
        raise AlertRefused(f"alert {alert_id} was already acknowledged by {state}")
    log.info("alert_acknowledged", alert_id=alert_id, by=by)
    return {"alert_id": alert_id, "acknowledged_by": by}


async def resolve_alert(db: asyncpg.Pool, alert_id: int, *, by: str, now: Any) -> dict[str, Any]:
    """Close one alert by hand; its condition raises a new one if it comes back."""
    row = await db.fetchrow(
        "UPDATE alerts SET resolved_at = $2, resolved_by = $3, acknowledged_at = coalesce(acknowledged_at, $2), "
        "acknowledged_by = coalesce(acknowledged_by, $3) WHERE id = $1 AND resolved_at IS NULL RETURNING id",
        alert_id, now, by)
    if row is None:
        if not await db.fetchval("SELECT true FROM alerts WHERE id = $1", alert_id):
            raise AlertRefused(f"no alert {alert_id}")
        raise AlertRefused(f"alert {alert_id} is already resolved")
    log.info("alert_resolved", alert_id=alert_id, by=by)
    return {"alert_id": alert_id, "resolved_by": by}
