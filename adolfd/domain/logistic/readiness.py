"""Inputs before outputs: may generate_supply_tasks run yet? (seed 000 §8.6, DOMAIN.md "Time and schedules").

The 07:00 supply plan needs today's successful `sync_brain_stocks` (06:30), today's `sync_ozon_analytics`
(05:00) and a `sync_ozon_stocks` from the last hour. "Today" is the Moscow calendar day. When an input is
missing the job defers itself by 10 minutes, at most 6 times; the 7th look runs anyway and raises a
`DATA_STALE` warning naming what was missing, because yesterday's data beats no supply tasks at all.
`attempt` counts the deferrals already made: 0 for the scheduled run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from adolfd.domain.logistic.stock_monitor import (
    ALL_BRANDS,
    AlertType,
    LogisticAlert,
    LogisticRules,
    Severity,
    require_aware,
)

SYNC_BRAIN_STOCKS = "sync_brain_stocks"
SYNC_OZON_ANALYTICS = "sync_ozon_analytics"
SYNC_OZON_STOCKS = "sync_ozon_stocks"


@dataclass(frozen=True)
class InputRuns:
    """When each input job last finished successfully (None: never)."""

    sync_brain_stocks: datetime | None
    sync_ozon_analytics: datetime | None
    sync_ozon_stocks: datetime | None


class Decision(StrEnum):
    RUN = "run"
    DEFER = "defer"
    RUN_STALE = "run_stale"     # run anyway, with a DATA_STALE warning


@dataclass(frozen=True)
class Readiness:
    decision: Decision
    missing: tuple[str, ...] = ()
    defer_by: timedelta | None = None
    alert: LogisticAlert | None = None

    @property
    def defer_seconds(self) -> float:
        """How long a DEFER waits before the next attempt; asking any other decision is a programming error."""
        if self.defer_by is None:
            raise ValueError(f"a {self.decision.value!r} readiness has no delay")
        return self.defer_by.total_seconds()


def missing_inputs(runs: InputRuns, now: datetime, rules: LogisticRules = LogisticRules()) -> tuple[str, ...]:
    """Names of the input jobs whose last success is not recent enough, in the seed's order."""
    tz = ZoneInfo(rules.timezone)
    today = require_aware(now, "now").astimezone(tz).date()

    def ran_today(moment: datetime | None, name: str) -> bool:
        return moment is not None and require_aware(moment, name).astimezone(tz).date() == today

    missing = []
    if not ran_today(runs.sync_brain_stocks, SYNC_BRAIN_STOCKS):
        missing.append(SYNC_BRAIN_STOCKS)
    if not ran_today(runs.sync_ozon_analytics, SYNC_OZON_ANALYTICS):
        missing.append(SYNC_OZON_ANALYTICS)
    stocks = runs.sync_ozon_stocks
    if stocks is None or now - require_aware(stocks, SYNC_OZON_STOCKS) > timedelta(
            minutes=rules.ozon_stocks_max_age_minutes):
        missing.append(SYNC_OZON_STOCKS)
    return tuple(missing)


def _describe(name: str, runs: InputRuns, tz: ZoneInfo) -> str:
    last = getattr(runs, name)
    if last is None:
        return f"{name} (ни одного успешного запуска)"
    return f"{name} (последний успешный {last.astimezone(tz):%d.%m %H:%M})"


def supply_readiness(runs: InputRuns, now: datetime, attempt: int = 0,
                     rules: LogisticRules = LogisticRules()) -> Readiness:
    """Run, defer by 10 minutes, or (after 6 deferrals) run with a DATA_STALE warning."""
    if attempt < 0:
        raise ValueError(f"attempt counts deferrals already made and cannot be negative, got {attempt}")
    missing = missing_inputs(runs, now, rules)
    if not missing:
        return Readiness(Decision.RUN)
    if attempt < rules.readiness_max_deferrals:
        return Readiness(Decision.DEFER, missing, timedelta(minutes=rules.readiness_defer_minutes))
    tz = ZoneInfo(rules.timezone)
    text = ", ".join(_describe(name, runs, tz) for name in missing)
    waited = attempt * rules.readiness_defer_minutes
    alert = LogisticAlert(
        AlertType.DATA_STALE, ALL_BRANDS,
        f"Наряд-задания сформированы без свежих данных (ожидание {waited} мин): {text}",
        severity=Severity.MEDIUM)
    return Readiness(Decision.RUN_STALE, missing, None, alert)


__all__ = [
    "Decision", "InputRuns", "Readiness", "SYNC_BRAIN_STOCKS", "SYNC_OZON_ANALYTICS", "SYNC_OZON_STOCKS",
    "missing_inputs", "supply_readiness",
]
