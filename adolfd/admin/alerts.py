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
