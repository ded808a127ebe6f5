"""Validation of 1C warehouse balances before use (seed 000 §8.4.4, DOMAIN.md "Logistic" sync_brain_stocks).

Rows of `brain_stock_balance` are sorted into three heaps:

- unmapped: the article is unknown to our catalogue → counted and skipped;
- anomaly: a negative quantity, or a change against the last `logistic_stock_history` row of the same
  article and warehouse of more than 50 % *and* more than 100 units (both strictly) → counted, skipped, logged;
- valid: everything else; the job upserts `warehouse_stocks` and appends history from these.

Choices where DOMAIN.md is silent:

- Several rows for one (article, warehouse) (1C splits balances by characteristic or series) are summed into
  one, since stock and history are kept per article and warehouse; one negative part makes the sum an anomaly.
- A change from a last history quantity of 0 counts as an infinite share: above 100 units it is an anomaly.
- An anomaly must not block an article for ever (skipped rows write no history, so a real large receipt would
  be compared with the old figure every day). A sudden change that the next load repeats exactly is taken as
  real: pass the quantities flagged by the previous load as `previous_anomalies`.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from adolfd.domain.logistic.stock_monitor import LogisticRules, require_aware

BalanceKey = tuple[str, str]        # (article, warehouse)


@dataclass(frozen=True)
class BalanceRow:
    """One `brain_stock_balance` row: units of an article at a 1C warehouse."""

    article: str
    warehouse: str
    quantity: int

    @property
    def key(self) -> BalanceKey:
        return (self.article, self.warehouse)


class AnomalyReason(StrEnum):
    NEGATIVE_QUANTITY = "negative_quantity"
    SUDDEN_CHANGE = "sudden_change"


@dataclass(frozen=True)
class Anomaly:
    row: BalanceRow
    reason: AnomalyReason
    previous: int | None = None     # the last history quantity the row was compared with


@dataclass(frozen=True)
class ValidationResult:
    valid: tuple[BalanceRow, ...] = ()
    unmapped: tuple[BalanceRow, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    confirmed: tuple[BalanceRow, ...] = ()  # sudden changes accepted because the load before showed the same

    @property
    def counts(self) -> dict[str, int]:
        """The seed's figures (`validated`, `unmapped`, `anomalies`), also the metric's status labels."""
        return {"validated": len(self.valid), "unmapped": len(self.unmapped), "anomalies": len(self.anomalies)}


def is_sudden_change(previous: int, current: int, rules: LogisticRules = LogisticRules()) -> bool:
    """|current − previous| > anomaly_ratio × previous and > anomaly_units (exactly 50 % or 100 units is fine)."""
    change = abs(current - previous)
    return change > rules.anomaly_units and change > rules.anomaly_ratio * previous


def _merged(rows: Iterable[BalanceRow]) -> tuple[dict[BalanceKey, BalanceRow], set[BalanceKey]]:
    merged: dict[BalanceKey, BalanceRow] = {}
    negative: set[BalanceKey] = set()
    for row in rows:
        if not isinstance(row.quantity, int) or isinstance(row.quantity, bool):
            raise ValueError(f"quantity of {row.article} at {row.warehouse} must be an int, got {row.quantity!r}")
        if row.quantity < 0:
            negative.add(row.key)
        known = merged.get(row.key)
        merged[row.key] = row if known is None else BalanceRow(row.article, row.warehouse,
                                                               known.quantity + row.quantity)
    return merged, negative


def validate_balance_rows(rows: Iterable[BalanceRow], known_articles: Collection[str],
                          last_history: Mapping[BalanceKey, int], rules: LogisticRules = LogisticRules(), *,
                          previous_anomalies: Mapping[BalanceKey, int] | None = None) -> ValidationResult:
    """Sort a 1C balance load into valid, unmapped and anomalous rows (see the module docstring)."""
    previous_anomalies = previous_anomalies or {}
    merged, negative = _merged(rows)
    valid: list[BalanceRow] = []
    unmapped: list[BalanceRow] = []
    anomalies: list[Anomaly] = []
    confirmed: list[BalanceRow] = []
    for key, row in merged.items():
        previous = last_history.get(key)
        if row.article not in known_articles:
            unmapped.append(row)
        elif key in negative:
            anomalies.append(Anomaly(row, AnomalyReason.NEGATIVE_QUANTITY, previous))
        elif previous is not None and is_sudden_change(previous, row.quantity, rules):
            if previous_anomalies.get(key) == row.quantity:
                confirmed.append(row)
                valid.append(row)
            else:
                anomalies.append(Anomaly(row, AnomalyReason.SUDDEN_CHANGE, previous))
        else:
            valid.append(row)
    return ValidationResult(tuple(valid), tuple(unmapped), tuple(anomalies), tuple(confirmed))


def is_stale(loaded_at: datetime | None, now: datetime, hours: float = 26) -> bool:
    """Data loaded more than `hours` before `now` is stale (exactly 26 h is not); no load at all is stale."""
    if loaded_at is None:
        return True
    return require_aware(now, "now") - require_aware(loaded_at, "loaded_at") > timedelta(hours=hours)


__all__ = [
    "Anomaly", "AnomalyReason", "BalanceKey", "BalanceRow", "ValidationResult", "is_stale", "is_sudden_change",
    "validate_balance_rows",
]
