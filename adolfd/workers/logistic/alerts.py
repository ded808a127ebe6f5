"""Writing and resolving the module's alerts (seed 000 §8.4.7): stock alerts stay open until resolved, one
per (type, brand, article, cluster), so raising one again while it is open does nothing."""
from __future__ import annotations

from typing import Any

import asyncpg

from adolfd.admin.alerts import raise_alert, resolve_alerts
from adolfd.domain.logistic.stock_monitor import ALL_BRANDS, STOCK_ALERTS, AlertKey, AlertType, LogisticAlert, OpenAlert
from adolfd.workers.logistic import MODULE_NAME

# Alerts that stay open until resolved: raising one again while it is open does nothing.
DEDUPED = STOCK_ALERTS | {AlertType.WAREHOUSE_LOW}


def _dedup_key(key: AlertKey) -> str:
    """`LOW_STOCK:ohana_market:OM-1001:4`: one open alert per (type, brand, article, cluster)."""
    return ":".join(part or "" for part in key)


async def _raise(conn: asyncpg.Connection, alert: LogisticAlert, *, dedup_key: str | None = None,
                 **details: Any) -> int | None:
    if dedup_key is None and alert.type in DEDUPED:
        dedup_key = _dedup_key(alert.key)
    return await raise_alert(
        conn, module=MODULE_NAME, alert_type=str(alert.type), severity=str(alert.severity), message=alert.message,
        brand_id=None if alert.brand == ALL_BRANDS else alert.brand, dedup_key=dedup_key,
        details={"article": alert.article, "cluster": alert.cluster, **details})


async def _open_alerts(conn: asyncpg.Connection, brand: str, types: set[str]) -> list[OpenAlert]:
    rows = await conn.fetch(
        "SELECT id, alert_type, details->>'article' AS article, details->>'cluster' AS cluster FROM alerts "
        "WHERE module = $1 AND brand_id = $2 AND resolved_at IS NULL AND alert_type = ANY($3::text[])",
        MODULE_NAME, brand, sorted(str(t) for t in types))
    return [OpenAlert(r["alert_type"], brand, r["article"], r["cluster"], r["id"]) for r in rows]


async def _resolve(conn: asyncpg.Connection, alerts: tuple[OpenAlert, ...] | list[OpenAlert]) -> int:
    return await resolve_alerts(conn, module=MODULE_NAME,
                                dedup_keys=[_dedup_key(a.key) for a in alerts])
