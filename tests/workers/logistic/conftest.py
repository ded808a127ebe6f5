"""Logistic job fixtures: one frozen moment for adolfd and the sandbox, and the input syncs."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

MSK = ZoneInfo("Europe/Moscow")
# A Monday, 07:00 Moscow: generate_supply_tasks' fire time; the 1C extract of 06:00 is an hour old.
MOMENT = datetime(2026, 2, 16, 7, 0, tzinfo=MSK)


@pytest.fixture
def moment() -> datetime:
    return MOMENT


@pytest.fixture
def at(at):
    """The shared `at(dt)`, standing at MOMENT to begin with."""
    at(MOMENT)
    return at


@pytest.fixture
def inputs(run_job, extract):
    """`await inputs(now)`: every input of generate_supply_tasks as the morning schedule leaves them."""

    async def run(now: datetime) -> dict[str, dict]:
        out = {"analytics": await run_job("logistic.sync_ozon_analytics")}
        out["stocks"] = await run_job("logistic.sync_ozon_stocks")
        await extract(now)
        out["brain"] = await run_job("logistic.sync_brain_stocks")
        for name, result in out.items():
            assert result["success"], (name, result)
        return out

    return run
