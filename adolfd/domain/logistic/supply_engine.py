"""Daily FBO supply tasks and their expiry (seed 000 §8.4.5, §8.4.6; DOMAIN.md "Logistic").

`plan_supply` turns stock positions and the 1C warehouse stock into supply tasks:
target = ceil(velocity × 14), deficit = target − fbo − in_transit (only > 0 counts), priority by days of stock,
warehouse units allocated urgent → planned → recommended, then fewest days first.

Choices where DOMAIN.md is silent:

- The warehouse stock is keyed by article (articles are unique in the catalogue), summed over 1C warehouses.
  Units already promised to open tasks that have not left the warehouse can be passed as `reserved`; they are
  not offered again, so two tasks never count on the same units.
- Ties after priority and days are broken by (brand, article, cluster), so a plan is reproducible.
- `WAREHOUSE_LOW` is raised per position (brand, article, cluster) with no coverage, once while it is open;
  it is resolved when the position has coverage again or no deficit any more.
- `TASKS_GENERATED` is raised per brand only when tasks were created for it: a second run the same day
  creates nothing and says nothing.
- Task numbers run on from `next_sequence` (the day's first free number) in allocation order, so the most
  urgent task of a day has the lowest number.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from adolfd.domain.logistic.stock_monitor import (
    AlertType,
    LogisticAlert,
    LogisticRules,
    OpenAlert,
    StockPosition,
    days_of_stock,
    new_alerts,
    require_aware,
)


class Priority(StrEnum):
    URGENT = "urgent"
    PLANNED = "planned"
    RECOMMENDED = "recommended"


PRIORITY_ORDER: tuple[Priority, ...] = (Priority.URGENT, Priority.PLANNED, Priority.RECOMMENDED)


class Coverage(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


OPEN_TASK_STATUSES: frozenset[str] = frozenset({"new", "confirmed", "in_progress"})

PositionKey = tuple[str, str, str]      # (brand, article, cluster)


def target_stock(velocity: Fraction | int, target_days: int) -> int:
    """ceil(velocity × target_days); exact when velocity is a Fraction (see `avg_daily_sales`)."""
    return math.ceil(Fraction(velocity) * Fraction(target_days))


def priority_for(days: float, rules: LogisticRules = LogisticRules()) -> Priority:
    if days < rules.urgent_days:
        return Priority.URGENT
    if days < rules.low_days:
        return Priority.PLANNED
    return Priority.RECOMMENDED


def task_number(day: date, sequence: int) -> str:
    """`SUP-20260214-0007`: the day the task was planned and its number within that day."""
    if sequence < 1:
        raise ValueError(f"task sequence must be >= 1, got {sequence}")
    return f"SUP-{day:%Y%m%d}-{sequence:04d}"


@dataclass(frozen=True)
class Deficit:
    """A position short of its target, with what the warehouse could give it."""

    position: StockPosition
    velocity: Fraction
    days_of_stock: float
    target_stock: int
    deficit: int
    priority: Priority
    allocated: int

    @property
    def coverage(self) -> Coverage:
        if self.allocated == 0:
            return Coverage.NONE
        return Coverage.FULL if self.allocated == self.deficit else Coverage.PARTIAL


@dataclass(frozen=True)
class SupplyTask:
    """A supply task to store in `supply_tasks` with status `new`."""

    task_number: str
    brand: str
    article: str
    cluster: str
    sku: int | None
    quantity: int
    deficit: int
    priority: Priority
    coverage: Coverage
    target_stock: int
    fbo_stock: int
    in_transit: int
    avg_daily_sales: float
    days_of_stock: float

    @property
    def key(self) -> PositionKey:
        return (self.brand, self.article, self.cluster)


@dataclass(frozen=True)
class SupplySummary:
    """The seed's result counters of generate_supply_tasks (§8.4.5)."""

    total_tasks: int = 0
    total_quantity: int = 0
    urgent: int = 0
    planned: int = 0
    recommended: int = 0
    purchase_required: int = 0

    @classmethod
    def of(cls, tasks: Iterable[SupplyTask], purchase_required: int = 0) -> SupplySummary:
        tasks = list(tasks)
        count = {p: sum(1 for t in tasks if t.priority == p) for p in Priority}
        return cls(len(tasks), sum(t.quantity for t in tasks), count[Priority.URGENT], count[Priority.PLANNED],
                   count[Priority.RECOMMENDED], purchase_required)

    def __add__(self, other: SupplySummary) -> SupplySummary:
        return SupplySummary(*(a + b for a, b in zip(self.as_dict().values(), other.as_dict().values(), strict=True)))

    def as_dict(self) -> dict[str, int]:
        return {"total_tasks": self.total_tasks, "total_quantity": self.total_quantity, "urgent": self.urgent,
                "planned": self.planned, "recommended": self.recommended,
                "purchase_required": self.purchase_required}


@dataclass(frozen=True)
class SupplyPlan:
    tasks: tuple[SupplyTask, ...] = ()
    deficits: tuple[Deficit, ...] = ()          # every deficit > 0, in allocation order
    skipped: tuple[PositionKey, ...] = ()       # positions passed over because an open task exists
    alerts: tuple[LogisticAlert, ...] = ()      # WAREHOUSE_LOW (new ones only) and TASKS_GENERATED
    resolve: tuple[OpenAlert, ...] = ()         # WAREHOUSE_LOW no longer true

    @property
    def purchase_required(self) -> tuple[Deficit, ...]:
        return tuple(d for d in self.deficits if d.coverage is Coverage.NONE)

    @property
    def summary(self) -> SupplySummary:
        return SupplySummary.of(self.tasks, len(self.purchase_required))


URGENT_LISTED = 20           # urgent tasks named in the summary (and given a confirm button); the rest counted


def urgent_tasks(tasks: Iterable[SupplyTask]) -> list[SupplyTask]:
    """The urgent tasks, fewest days of stock first: the ones to confirm this morning."""
    return sorted((t for t in tasks if t.priority is Priority.URGENT), key=lambda t: (t.days_of_stock, t.task_number))


def tasks_generated_alert(brand: str, tasks: Iterable[SupplyTask],
                          cluster_names: dict[str, str] | None = None) -> LogisticAlert:
    """The seed's per-brand summary alert: «Сформировано N заданий (K urgent)», then the urgent tasks by number
    (what, where, how many) so they can be confirmed from the message."""
    tasks = list(tasks)
    summary = SupplySummary.of(tasks)
    lines = [f"Сформировано {summary.total_tasks} заданий ({summary.urgent} urgent), {summary.total_quantity} шт."]
    urgent = urgent_tasks(tasks)
    names = cluster_names or {}
    lines += [f"{t.task_number}: {t.article} → {names.get(t.cluster, t.cluster)}, {t.quantity} шт., "
              f"запас {t.days_of_stock:.1f} дн." for t in urgent[:URGENT_LISTED]]
    if len(urgent) > URGENT_LISTED:
        lines.append(f"…и ещё {len(urgent) - URGENT_LISTED} срочных (adolfd logistic tasks --priority urgent)")
    return LogisticAlert(AlertType.TASKS_GENERATED, brand, "\n".join(lines))


def warehouse_low_alert(d: Deficit) -> LogisticAlert:
    p = d.position
    return LogisticAlert(
        AlertType.WAREHOUSE_LOW, p.brand,
        f"Товар {p.article}: на складе 1С не осталось остатка для этого кластера (всё распределено или нет "
        f"на складе). Дефицит FBO в кластере {p.cluster_name or p.cluster}: {d.deficit} шт. "
        f"Требуется закупка.",
        p.article, p.cluster)


def _deficit_of(p: StockPosition, rules: LogisticRules) -> tuple[Fraction, float, int, int]:
    velocity = p.velocity(rules)
    target = target_stock(velocity, rules.target_days)
    return velocity, days_of_stock(p.fbo_stock, velocity), target, target - p.fbo_stock - p.in_transit


def plan_supply(positions: Iterable[StockPosition], warehouse_stock: Mapping[str, int],
                open_task_keys: Collection[PositionKey], rules: LogisticRules, today: date,
                next_sequence: int = 1, *,
                reserved: Mapping[str, int] | None = None,
                open_alerts: Iterable[OpenAlert] = ()) -> SupplyPlan:
    """The day's supply tasks and purchase alerts (seed §8.4.5).

    `open_task_keys`: (brand, article, cluster) of tasks in status new / confirmed / in_progress; those
    positions get no new task, which makes a second run the same day create nothing. `today` is the
    planning day (Moscow time) and `next_sequence` its first free task number.
    """
    for article, units in warehouse_stock.items():
        if units < 0:
            raise ValueError(f"warehouse stock of {article} is negative ({units}); validate 1C rows first")
    reserved = reserved or {}
    open_tasks = set(open_task_keys)
    open_alerts = list(open_alerts)

    candidates: list[tuple[StockPosition, Fraction, float, int, int]] = []
    skipped: list[PositionKey] = []
    settled: set[PositionKey] = set()           # evaluated and not in need of a purchase
    seen: set[PositionKey] = set()
    for p in positions:
        if p.key in seen:
            raise ValueError(f"position {p.key} appears twice in one supply plan")
        seen.add(p.key)
        if p.key in open_tasks:
            skipped.append(p.key)
            continue
        velocity, days, target, deficit = _deficit_of(p, rules)
        if deficit > 0:
            candidates.append((p, velocity, days, target, deficit))
        else:
            settled.add(p.key)

    candidates.sort(key=lambda c: (PRIORITY_ORDER.index(priority_for(c[2], rules)), c[2], c[0].key))
    available = {a: max(0, units - reserved.get(a, 0)) for a, units in warehouse_stock.items()}
    deficits: list[Deficit] = []
    tasks: list[SupplyTask] = []
    sequence = next_sequence
    for p, velocity, days, target, deficit in candidates:
        allocated = min(deficit, available.get(p.article, 0))
        available[p.article] = available.get(p.article, 0) - allocated
        d = Deficit(p, velocity, days, target, deficit, priority_for(days, rules), allocated)
        deficits.append(d)
        if d.coverage is Coverage.NONE:
            continue
        settled.add(p.key)
        tasks.append(SupplyTask(
            task_number(today, sequence), p.brand, p.article, p.cluster, p.sku, allocated, deficit, d.priority,
            d.coverage, target, p.fbo_stock, p.in_transit, float(velocity), days))
        sequence += 1

    alerts = list(new_alerts((warehouse_low_alert(d) for d in deficits if d.coverage is Coverage.NONE),
                             open_alerts))
    for brand in dict.fromkeys(t.brand for t in tasks):
        alerts.append(tasks_generated_alert(brand, (t for t in tasks if t.brand == brand)))
    resolve = tuple(a for a in open_alerts
                    if a.type == AlertType.WAREHOUSE_LOW and (a.brand, a.article, a.cluster) in settled)
    return SupplyPlan(tuple(tasks), tuple(deficits), tuple(skipped), tuple(alerts), resolve)


# -- auto_cancel_expired (seed §8.4.6) ------------------------------------------------------------------

@dataclass(frozen=True)
class TaskState:
    """A stored supply task as auto-cancel sees it."""

    task_number: str
    brand: str
    article: str
    cluster: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class CancelPlan:
    task_numbers: tuple[str, ...] = ()
    alerts: tuple[LogisticAlert, ...] = ()


def is_expired(task: TaskState, now: datetime, rules: LogisticRules = LogisticRules()) -> bool:
    """Status `new` and created more than auto_cancel_hours before `now` (exactly 48 h is not yet expired)."""
    created = require_aware(task.created_at, f"created_at of {task.task_number}")
    return task.status == "new" and require_aware(now, "now") - created > timedelta(hours=rules.auto_cancel_hours)


def task_overdue_alert(task: TaskState, rules: LogisticRules = LogisticRules()) -> LogisticAlert:
    return LogisticAlert(
        AlertType.TASK_OVERDUE, task.brand,
        f"Задание {task.task_number} автоотменено (не подтверждено > {rules.auto_cancel_hours:g}ч)",
        task.article, task.cluster)


def plan_auto_cancel(tasks: Iterable[TaskState], now: datetime,
                     rules: LogisticRules = LogisticRules()) -> CancelPlan:
    """Which tasks to cancel, each with its TASK_OVERDUE alert."""
    expired = [t for t in tasks if is_expired(t, now, rules)]
    return CancelPlan(tuple(t.task_number for t in expired), tuple(task_overdue_alert(t, rules) for t in expired))


__all__ = [
    "CancelPlan", "Coverage", "Deficit", "OPEN_TASK_STATUSES", "PRIORITY_ORDER", "PositionKey", "Priority",
    "SupplyPlan", "SupplySummary", "SupplyTask", "TaskState", "is_expired", "plan_auto_cancel", "plan_supply",
    "priority_for", "target_stock", "task_number", "task_overdue_alert", "tasks_generated_alert", "urgent_tasks",
    "warehouse_low_alert",
]
