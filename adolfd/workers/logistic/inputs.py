"""What every logistic job shares: the brand's rules, the record of when each input last arrived (which
`generate_supply_tasks` waits for, seed 000 §8.4.5) and the 30-minute snapshot slot (seed 000 §8.4.1)."""
from __future__ import annotations

import math
from datetime import datetime

import asyncpg

from adolfd.domain.logistic.readiness import InputRuns
from adolfd.domain.logistic.stock_monitor import LogisticRules
from adolfd.engine.context import Ctx


def _rules(ctx: Ctx, brand: str | None = None) -> LogisticRules:
    return ctx.settings.logistic.rules(brand, ctx.settings.timezone)


SLOT_MINUTES = 30                          # sync_ozon_stocks runs */30: one snapshot per slot


_MARK_INPUT = """
INSERT INTO logistic_sync_state (brand_id, input, synced_at, details) VALUES ($1, $2, $3, $4)
ON CONFLICT (brand_id, input) DO UPDATE SET synced_at = EXCLUDED.synced_at, details = EXCLUDED.details
"""


async def _input_runs(db: asyncpg.Pool | asyncpg.Connection, brand: str) -> InputRuns:
    rows = await db.fetch("SELECT input, synced_at FROM logistic_sync_state WHERE brand_id = $1", brand)
    at = {r["input"]: r["synced_at"] for r in rows}
    return InputRuns(at.get("sync_brain_stocks"), at.get("sync_ozon_analytics"), at.get("sync_ozon_stocks"))


def _slot(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % SLOT_MINUTES, second=0, microsecond=0)


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 2)
