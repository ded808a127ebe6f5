"""Freshness of the 1C extractor's `brain_*` tables (seed 000 §8.4.4a, DOMAIN.md check_brain_freshness).

A table is stale when its newest `loaded_at` is more than 26 h old, or when it has no rows at all (the
extractor never loaded it). Any stale table gives one `DATA_STALE` alert of severity high naming them all.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from adolfd.domain.logistic.brain_validation import is_stale
from adolfd.domain.logistic.stock_monitor import (
    ALL_BRANDS,
    AlertType,
    LogisticAlert,
    LogisticRules,
    Severity,
    require_aware,
)

# The tables the seed checks, in its order.
BRAIN_TABLES: tuple[str, ...] = (
    "brain_stock_balance", "brain_customer_orders", "brain_supplier_orders", "brain_goods_receipts",
)


@dataclass(frozen=True)
class FreshnessReport:
    stale: tuple[str, ...]
    age_hours: dict[str, float | None]      # per table, for the logistic_brain_freshness_hours gauge
    alert: LogisticAlert | None

    @property
    def all_fresh(self) -> bool:
        return not self.stale

    def as_result(self) -> dict[str, object]:
        """The seed's result: {"stale": [...], "all_fresh": bool}."""
        return {"stale": list(self.stale), "all_fresh": self.all_fresh}


def check_freshness(newest_loaded_at: Mapping[str, datetime | None], now: datetime,
                    rules: LogisticRules = LogisticRules()) -> FreshnessReport:
    """Judge each table by its newest `loaded_at` (None: the table is empty)."""
    require_aware(now, "now")
    stale = tuple(t for t, loaded in newest_loaded_at.items() if is_stale(loaded, now, rules.brain_stale_hours))
    ages = {t: None if loaded is None else (now - require_aware(loaded, f"loaded_at of {t}")).total_seconds() / 3600
            for t, loaded in newest_loaded_at.items()}
    alert = None
    if stale:
        described = ", ".join(f"{t} (нет данных)" if ages[t] is None else f"{t} ({ages[t]:.0f} ч)" for t in stale)
        alert = LogisticAlert(AlertType.DATA_STALE, ALL_BRANDS, f"Устаревшие данные: {described}",
                              severity=Severity.HIGH)
    return FreshnessReport(stale, ages, alert)


__all__ = ["BRAIN_TABLES", "FreshnessReport", "check_freshness"]
