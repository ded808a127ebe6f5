"""Logistic stock rules: velocity, days of stock and FBO stock alerts (seed 000 §8.4.7, DOMAIN.md "Logistic").

Also home of what every Logistic rule shares: `LogisticRules` (the thresholds, filled from settings) and
`LogisticAlert` (what a rule wants an operator to see; the job writes it as an alert row).

Choices where DOMAIN.md is silent, made for the operator reading the alert feed:

- One stock-level alert per position at a time, the most severe that applies:
  `OUT_OF_STOCK` (fbo 0, velocity > 0) > `URGENT_STOCK` (< 3 days) > `LOW_STOCK` (< 7 days).
  An empty shelf is 0 days, but it raises `OUT_OF_STOCK` alone, not also URGENT and LOW.
  `OZON_URGENT` is Ozon's own verdict and runs beside the level alert, independently. Ozon's `DEFICIT`
  grade means "stock for under 28 days", so it is medium, below URGENT_STOCK; `ozon_deficit_grades`
  narrows or widens which grades count.
- Escalation (LOW → URGENT → OUT) creates the new level and resolves the open lower one it supersedes.
  De-escalation keeps the open, more severe alert until the position recovers: no new alert on the way back
  up, so a position flapping around 3 days does not create an alert every 30 minutes.
- Recovery: a position back at ≥ 7 days of stock resolves its open level alerts and raises one
  `STOCK_RECOVERED` (also when only an `OZON_URGENT` was open and Ozon has dropped its mark). A position
  with zero stock never counts as recovered, even when its 28-day velocity has fallen to 0 (a month out of
  stock kills sales; that is not a recovery). `OZON_URGENT` resolves whenever Ozon stops marking the item.
- Positions absent from the input (no snapshot this run) keep their open alerts untouched.
- Alert texts are Russian, as the seed's.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

K = TypeVar("K")


@dataclass(frozen=True)
class LogisticRules:
    """Every Logistic threshold with DOMAIN.md's default; settings fill one per brand."""

    target_days: int = 14               # supply target: ceil(velocity × target_days)
    urgent_days: float = 3              # URGENT_STOCK / priority urgent below this many days
    low_days: float = 7                 # LOW_STOCK / priority planned below; recovery at or above
    velocity_window_days: int = 28      # ordered_units window (full days)
    auto_cancel_hours: float = 48       # `new` supply tasks older than this are cancelled
    brain_stale_hours: float = 26       # brain_* data older than this is stale
    anomaly_ratio: float = 0.5          # brain balance change vs last history row: more than this share …
    anomaly_units: int = 100            # … and more than this many units is an anomaly
    retention_days: int = 90            # logistic_cleanup_old_data(days)
    readiness_defer_minutes: int = 10   # generate_supply_tasks waits this long for missing inputs …
    readiness_max_deferrals: int = 6    # … at most this many times, then runs with DATA_STALE
    ozon_stocks_max_age_minutes: int = 60   # "a sync_ozon_stocks from the last hour"
    timezone: str = "Europe/Moscow"     # what "today" means for the readiness rule
    ozon_deficit_grades: frozenset[str] = field(default=frozenset({"DEFICIT"}))  # turnover grades → OZON_URGENT

    def __post_init__(self) -> None:
        positive = ("target_days", "urgent_days", "low_days", "velocity_window_days", "auto_cancel_hours",
                    "brain_stale_hours", "anomaly_ratio", "retention_days", "readiness_defer_minutes",
                    "ozon_stocks_max_age_minutes")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"LogisticRules.{name} must be > 0, got {getattr(self, name)!r}")
        if self.anomaly_units < 0 or self.readiness_max_deferrals < 0:
            raise ValueError("LogisticRules.anomaly_units and readiness_max_deferrals must be >= 0")
        if not self.urgent_days <= self.low_days:
            raise ValueError(f"urgent_days ({self.urgent_days}) must not exceed low_days ({self.low_days})")


def require_aware(moment: datetime, what: str) -> datetime:
    """Logistic rules compare instants from PostgreSQL (timestamptz) and the clock; a naive one is a bug."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment


class AlertType(StrEnum):
    OUT_OF_STOCK = "OUT_OF_STOCK"
    URGENT_STOCK = "URGENT_STOCK"
    LOW_STOCK = "LOW_STOCK"
    OZON_URGENT = "OZON_URGENT"
    STOCK_RECOVERED = "STOCK_RECOVERED"
    WAREHOUSE_LOW = "WAREHOUSE_LOW"
    TASKS_GENERATED = "TASKS_GENERATED"
    TASK_OVERDUE = "TASK_OVERDUE"
    DATA_STALE = "DATA_STALE"


class Severity(StrEnum):
    """The seed's scale (`high`, `medium`, `low`), plus `critical` for an empty shelf that sells."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY: dict[AlertType, Severity] = {
    AlertType.OUT_OF_STOCK: Severity.CRITICAL,
    AlertType.URGENT_STOCK: Severity.HIGH,
    AlertType.OZON_URGENT: Severity.MEDIUM,     # Ozon's DEFICIT grade: under 28 days of stock, not yet ours
    AlertType.LOW_STOCK: Severity.MEDIUM,
    AlertType.STOCK_RECOVERED: Severity.LOW,
    AlertType.WAREHOUSE_LOW: Severity.HIGH,      # seed §8.4.5
    AlertType.TASKS_GENERATED: Severity.LOW,     # seed §8.4.5
    AlertType.TASK_OVERDUE: Severity.MEDIUM,     # seed §8.4.6
    AlertType.DATA_STALE: Severity.HIGH,         # seed §8.4.4a
}

# Stock-level alerts, most severe first; at most one of them is open per position.
LEVELS: tuple[AlertType, ...] = (AlertType.OUT_OF_STOCK, AlertType.URGENT_STOCK, AlertType.LOW_STOCK)
STOCK_ALERTS: frozenset[AlertType] = frozenset(LEVELS) | {AlertType.OZON_URGENT}

AlertKey = tuple[str, str, str | None, str | None]      # (type, brand, article, cluster)

# The brand of alerts about the whole Logistic feed (1C freshness, inputs of supply planning).
ALL_BRANDS = "all"


@dataclass(frozen=True)
class LogisticAlert:
    """An alert a Logistic rule wants raised; `article`/`cluster` are None for brand-wide alerts."""

    type: AlertType
    brand: str
    message: str
    article: str | None = None
    cluster: str | None = None
    severity: Severity | None = None    # None → SEVERITY[type]

    def __post_init__(self) -> None:
        if self.severity is None:
            object.__setattr__(self, "severity", SEVERITY[self.type])

    @property
    def key(self) -> AlertKey:
        return (str(self.type), self.brand, self.article, self.cluster)


@dataclass(frozen=True)
class OpenAlert:
    """An unresolved alert already stored; `id` lets the job resolve exactly that row."""

    type: str
    brand: str
    article: str | None = None
    cluster: str | None = None
    id: int | None = None

    @property
    def key(self) -> AlertKey:
        return (str(self.type), self.brand, self.article, self.cluster)


def new_alerts(alerts: Iterable[LogisticAlert], open_alerts: Iterable[OpenAlert]) -> tuple[LogisticAlert, ...]:
    """Drop alerts whose (type, brand, article, cluster) is already open, and repeats within `alerts`."""
    seen = {a.key for a in open_alerts}
    kept = []
    for alert in alerts:
        if alert.key not in seen:
            seen.add(alert.key)
            kept.append(alert)
    return tuple(kept)


@dataclass(frozen=True)
class StockPosition:
    """One article in one Ozon FBO cluster, as the jobs load it from the latest stock snapshot.

    `cluster` is the cluster's stable key (Ozon cluster id as text) and `cluster_name` what an operator reads;
    `ordered_units_28d` is the Ozon `ordered_units` the position's velocity is computed from (seed §8.4.2,
    see `split_units`); `ozon_deficit` is True when Ozon's turnover grade marks the item in deficit.
    """

    brand: str
    article: str
    cluster: str
    sku: int | None
    fbo_stock: int
    in_transit: int
    ordered_units_28d: int
    ozon_deficit: bool = False
    cluster_name: str = ""

    @property
    def where(self) -> str:
        return f"{self.article} в кластере {self.cluster_name or self.cluster}"

    def __post_init__(self) -> None:
        for name in ("fbo_stock", "in_transit", "ordered_units_28d"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} of {self.brand}/{self.article}/{self.cluster} must be an int >= 0, "
                                 f"got {value!r}")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.brand, self.article, self.cluster)

    def velocity(self, rules: LogisticRules) -> Fraction:
        return avg_daily_sales(self.ordered_units_28d, rules.velocity_window_days)

    def days(self, rules: LogisticRules) -> float:
        return days_of_stock(self.fbo_stock, self.velocity(rules))


def ozon_marks_deficit(turnover_grade: str | None, rules: LogisticRules = LogisticRules()) -> bool:
    """Ozon's own deficit mark: `turnover_grade_cluster` of /v1/analytics/stocks is a deficit grade."""
    return turnover_grade is not None and turnover_grade.upper() in rules.ozon_deficit_grades


def split_units(total: int, weights: Mapping[K, float]) -> dict[K, int]:
    """Share an article's ordered units among its clusters by Ozon's per-cluster sales (`ads_cluster`).

    DOMAIN.md takes velocity per article from analytics; supply is planned per cluster, so each cluster gets
    its share and the clusters' velocities add up to the article's (largest remainder, ties by key). Without
    any cluster weight the units are shared equally.
    """
    if total < 0 or any(w < 0 for w in weights.values()):
        raise ValueError(f"units and weights must be >= 0, got {total}, {dict(weights)}")
    if not weights:
        return {}
    keys = sorted(weights, key=str)
    mass = sum(weights.values())
    shares = {k: Fraction(total) * (Fraction(weights[k]) / Fraction(mass) if mass else Fraction(1, len(keys)))
              for k in keys}
    parts = {k: math.floor(shares[k]) for k in keys}
    rest = total - sum(parts.values())
    for k in sorted(keys, key=lambda k: -(shares[k] - parts[k]))[:rest]:
        parts[k] += 1
    return parts


def avg_daily_sales(ordered_units_28d: int, days: int = 28) -> Fraction:
    """Velocity = ordered units over the window ÷ its days, exact.

    A Fraction, so that ceil(velocity × 14) of 58 units in 28 days is 29, not 30 by float error, and 9 units
    against 36 sold is 7.0 days, not 6.999999999999999. `float()` it to store.
    """
    if days <= 0:
        raise ValueError(f"velocity window must be > 0 days, got {days}")
    if ordered_units_28d < 0:
        raise ValueError(f"ordered units must be >= 0, got {ordered_units_28d}")
    return Fraction(ordered_units_28d, days)


def days_of_stock(fbo_stock: int, velocity: Fraction | float) -> float:
    """fbo_stock ÷ velocity; infinite when nothing sells."""
    if fbo_stock < 0 or velocity < 0:
        raise ValueError(f"stock and velocity must be >= 0, got {fbo_stock}, {velocity}")
    if velocity == 0:
        return math.inf
    return float(Fraction(fbo_stock) / Fraction(velocity))


def stock_level(position: StockPosition, rules: LogisticRules) -> AlertType | None:
    """The one stock-level alert the position deserves now, or None when it has ≥ low_days of stock."""
    velocity = position.velocity(rules)
    if position.fbo_stock == 0 and velocity > 0:
        return AlertType.OUT_OF_STOCK
    days = days_of_stock(position.fbo_stock, velocity)
    if days < rules.urgent_days:
        return AlertType.URGENT_STOCK
    if days < rules.low_days:
        return AlertType.LOW_STOCK
    return None


@dataclass(frozen=True)
class AlertPlan:
    create: tuple[LogisticAlert, ...] = ()
    resolve: tuple[OpenAlert, ...] = ()


def _days_text(days: float) -> str:
    return "∞" if math.isinf(days) else f"{days:.1f}"


def _level_message(level: AlertType, p: StockPosition, days: float, velocity: Fraction) -> str:
    where = p.where
    sales = f"продажи {float(velocity):.2f} шт/день"
    if level is AlertType.OUT_OF_STOCK:
        return f"Товар {where} закончился на FBO ({sales}, в пути {p.in_transit} шт)."
    label = "Срочно" if level is AlertType.URGENT_STOCK else "Низкий остаток"
    return (f"{label}: {where} — остатка на {_days_text(days)} дн. "
            f"({p.fbo_stock} шт, {sales}, в пути {p.in_transit} шт).")


def evaluate_stock_alerts(positions: Iterable[StockPosition], open_alerts: Iterable[OpenAlert],
                          rules: LogisticRules = LogisticRules()) -> AlertPlan:
    """Alerts to create and resolve after a stock sync (seed §8.4.7); see the module docstring for precedence."""
    open_by_position: dict[tuple[str, str | None, str | None], list[OpenAlert]] = {}
    for alert in open_alerts:
        if str(alert.type) in STOCK_ALERTS:
            open_by_position.setdefault((alert.brand, alert.article, alert.cluster), []).append(alert)

    create: list[LogisticAlert] = []
    resolve: list[OpenAlert] = []
    seen: set[tuple[str, str, str]] = set()
    for p in positions:
        if p.key in seen:
            raise ValueError(f"position {p.key} appears twice in one stock evaluation")
        seen.add(p.key)
        opened = open_by_position.get(p.key, [])
        open_levels = [a for a in opened if a.type in LEVELS]
        open_ozon = [a for a in opened if a.type == AlertType.OZON_URGENT]
        ozon_cleared = [] if p.ozon_deficit else open_ozon
        velocity = p.velocity(rules)
        days = days_of_stock(p.fbo_stock, velocity)
        level = stock_level(p, rules)

        if level is None:
            if p.fbo_stock > 0 and (open_levels or ozon_cleared):
                resolve.extend(open_levels)
                create.append(LogisticAlert(
                    AlertType.STOCK_RECOVERED, p.brand,
                    f"Остаток {p.where} восстановлен: {_days_text(days)} дн. "
                    f"({p.fbo_stock} шт).",
                    p.article, p.cluster))
        elif not any(LEVELS.index(AlertType(a.type)) <= LEVELS.index(level) for a in open_levels):
            create.append(LogisticAlert(level, p.brand, _level_message(level, p, days, velocity),
                                        p.article, p.cluster))
            resolve.extend(open_levels)          # every open level is less severe: superseded

        resolve.extend(ozon_cleared)
        if p.ozon_deficit and not open_ozon:
            create.append(LogisticAlert(
                AlertType.OZON_URGENT, p.brand,
                f"Ozon отмечает дефицит: {p.where} ({p.fbo_stock} шт на FBO).",
                p.article, p.cluster))
    return AlertPlan(tuple(create), tuple(resolve))


__all__ = [
    "ALL_BRANDS", "AlertKey", "AlertPlan", "AlertType", "LEVELS", "LogisticAlert", "LogisticRules", "OpenAlert",
    "SEVERITY", "STOCK_ALERTS", "Severity", "StockPosition", "avg_daily_sales", "days_of_stock",
    "evaluate_stock_alerts", "new_alerts", "ozon_marks_deficit", "require_aware", "split_units", "stock_level",
]
