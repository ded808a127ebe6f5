"""The logistic section of `adolfd status` and the bot's /status: inputs, open supply tasks, open alerts."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import asyncpg

from adolfd.domain.logistic.supply_engine import OPEN_TASK_STATUSES
from adolfd.workers.logistic import MODULE_NAME


async def logistic_status(redis: Any, db: asyncpg.Pool | None) -> dict[str, Any]:
    """When each brand's inputs last arrived, supply tasks by status, open alerts by type."""
    if db is None:
        return {}
    inputs: dict[str, dict[str, str]] = defaultdict(dict)
    for r in await db.fetch("SELECT brand_id, input, synced_at FROM logistic_sync_state ORDER BY 1, 2"):
        inputs[r["brand_id"]][r["input"]] = r["synced_at"].isoformat()
    tasks = await db.fetch("SELECT brand_id, status, count(*) AS n FROM supply_tasks "
                           "WHERE status = ANY($1::text[]) GROUP BY 1, 2 ORDER BY 1, 2", sorted(OPEN_TASK_STATUSES))
    alerts = await db.fetch("SELECT alert_type, count(*) AS n FROM alerts WHERE module = $1 AND resolved_at IS NULL "
                            "GROUP BY 1 ORDER BY 1", MODULE_NAME)
    open_tasks: dict[str, dict[str, int]] = defaultdict(dict)
    for r in tasks:
        open_tasks[r["brand_id"]][r["status"]] = r["n"]
    return {"inputs": dict(inputs), "open_tasks": dict(open_tasks),
            "open_alerts": {r["alert_type"]: r["n"] for r in alerts}}


