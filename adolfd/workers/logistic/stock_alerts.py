"""Stock alerts from the latest FBO snapshot (seed 000 §8.4.7)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from adolfd.domain.logistic.stock_monitor import (
    STOCK_ALERTS,
    LogisticAlert,
    LogisticRules,
    StockPosition,
    evaluate_stock_alerts,
    ozon_marks_deficit,
)
from adolfd.engine.arguments import BrandId
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.workers.logistic.alerts import _open_alerts, _raise, _resolve
from adolfd.workers.logistic.inputs import _finite, _rules

_POSITIONS = """
SELECT article, cluster_id, cluster_name, sku, fbo_stock, in_transit, ordered_units_28d, turnover_grade_cluster
FROM cluster_stock_snapshots
WHERE brand_id = $1 AND slot = (SELECT max(slot) FROM cluster_stock_snapshots WHERE brand_id = $1)
ORDER BY article, cluster_id
"""


async def _positions(conn: asyncpg.Connection, brand: str, rules: LogisticRules) -> list[StockPosition]:
    """The brand's positions as of its latest stock snapshot."""
    return [StockPosition(brand, r["article"], str(r["cluster_id"]), r["sku"], r["fbo_stock"], r["in_transit"],
                          r["ordered_units_28d"], ozon_marks_deficit(r["turnover_grade_cluster"], rules),
                          r["cluster_name"])
            for r in await conn.fetch(_POSITIONS, brand)]


def _position_of(alert: LogisticAlert, positions: Mapping[tuple[str, str], StockPosition]) -> StockPosition | None:
    """The stock position an alert is about; None for an alert about the whole brand."""
    if alert.article is None or alert.cluster is None:
        return None
    return positions.get((alert.article, alert.cluster))


def _position_details(p: StockPosition | None, rules: LogisticRules) -> dict[str, Any]:
    if p is None:
        return {}
    return {"cluster_name": p.cluster_name, "sku": p.sku, "fbo_stock": p.fbo_stock, "in_transit": p.in_transit,
            "days_of_stock": _finite(p.days(rules))}


@job(queue="logic", manual=True)
async def generate_alerts(ctx: Ctx, brand_id: BrandId = "all") -> dict:
    """Stock alerts from the latest FBO snapshot (seed 000 §8.4.7): OUT_OF_STOCK / URGENT_STOCK / LOW_STOCK /
    OZON_URGENT / STOCK_RECOVERED. Safe to run twice: an open alert is not raised again."""
    created = resolved = 0
    for brand in ctx.brands(brand_id):
        rules = _rules(ctx, brand)
        async with ctx.db.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"logistic.generate_alerts:{brand}")
            positions = await _positions(conn, brand, rules)
            plan = evaluate_stock_alerts(positions, await _open_alerts(conn, brand, set(STOCK_ALERTS)), rules)
            by_key = {(p.article, p.cluster): p for p in positions}
            for alert in plan.create:
                if await _raise(conn, alert, **_position_details(_position_of(alert, by_key), rules)):
                    created += 1
            resolved += await _resolve(conn, plan.resolve)
    if created or resolved:
        ctx.log.info("generate_alerts_completed", alerts_generated=created, resolved=resolved)
    return {"status": "success", "alerts_generated": created, "resolved": resolved}
