"""Supply task engine and auto-cancel (seed 000 §8.4.5, §8.4.6, DOMAIN.md "Logistic")."""
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from adolfd.domain.logistic.stock_monitor import AlertType, LogisticRules, OpenAlert, Severity, StockPosition
from adolfd.domain.logistic.supply_engine import (
    Coverage,
    Priority,
    SupplySummary,
    TaskState,
    is_expired,
    plan_auto_cancel,
    plan_supply,
    priority_for,
    target_stock,
    task_number,
)

RULES = LogisticRules()
DAY = date(2026, 2, 14)


def pos(fbo: int, units_28d: int, *, article="A-1", cluster="Москва", brand="ohana_market",
        transit=0) -> StockPosition:
    return StockPosition(brand, article, cluster, 555, fbo, transit, units_28d)


def plan(positions, warehouse, open_keys=(), **kw):
    return plan_supply(positions, warehouse, open_keys, RULES, DAY, **kw)


# -- formulas -------------------------------------------------------------------------------------------

def test_target_rounds_up():
    assert target_stock(Fraction(1, 28), 14) == 1          # 0.5 → 1
    assert target_stock(Fraction(15, 28), 14) == 8         # 7.5 → 8
    assert target_stock(Fraction(2), 14) == 28             # whole stays whole


def test_target_is_exact_where_float_is_not():
    assert 58 / 28 * 14 > 29                               # float error would round up to 30
    assert target_stock(Fraction(58, 28), 14) == 29


@pytest.mark.parametrize("days,expected", [
    (0.0, Priority.URGENT), (2.99, Priority.URGENT), (3.0, Priority.PLANNED), (6.99, Priority.PLANNED),
    (7.0, Priority.RECOMMENDED), (13.0, Priority.RECOMMENDED)])
def test_priority_boundaries(days, expected):
    assert priority_for(days, RULES) == expected


def test_task_number_is_readable_and_ordered():
    assert task_number(DAY, 7) == "SUP-20260214-0007"
    assert task_number(DAY, 12345) == "SUP-20260214-12345"
    with pytest.raises(ValueError):
        task_number(DAY, 0)


# -- deficits -------------------------------------------------------------------------------------------

def test_deficit_subtracts_fbo_and_in_transit():
    # velocity 2/day → target 28; 10 on FBO, 5 in transit → deficit 13
    p = plan([pos(10, 56, transit=5)], {"A-1": 100})
    (task,) = p.tasks
    assert (task.target_stock, task.deficit, task.quantity, task.coverage) == (28, 13, 13, Coverage.FULL)
    assert task.priority == Priority.PLANNED                # 5 days
    assert task.avg_daily_sales == 2.0 and task.days_of_stock == 5.0


def test_deficit_exactly_zero_or_below_creates_nothing():
    exact = pos(20, 56, transit=8)                          # 28 − 20 − 8 = 0
    over = pos(30, 56, article="B")
    idle = pos(0, 0, article="C")                           # no sales: target 0
    p = plan([exact, over, idle], {"A-1": 100, "B": 100, "C": 100})
    assert p.tasks == () and p.deficits == () and p.alerts == ()


def test_deficit_of_one_unit_is_planned():
    p = plan([pos(20, 56, transit=7)], {"A-1": 5})
    assert [(t.quantity, t.deficit) for t in p.tasks] == [(1, 1)]


# -- allocation -----------------------------------------------------------------------------------------

def test_partial_allocation_goes_by_priority_then_days():
    urgent = pos(2, 56, cluster="Казань")                   # 1 day, deficit 26
    planned = pos(10, 56, cluster="Москва")                 # 5 days, deficit 18
    recommended = pos(16, 56, cluster="Урал")               # 8 days, deficit 12
    p = plan([recommended, planned, urgent], {"A-1": 35})
    got = {t.cluster: (t.priority, t.quantity, t.coverage) for t in p.tasks}
    assert got == {"Казань": (Priority.URGENT, 26, Coverage.FULL),
                   "Москва": (Priority.PLANNED, 9, Coverage.PARTIAL)}
    assert [d.coverage for d in p.deficits] == [Coverage.FULL, Coverage.PARTIAL, Coverage.NONE]
    assert [t.task_number for t in p.tasks] == ["SUP-20260214-0001", "SUP-20260214-0002"]


def test_within_a_priority_fewest_days_first():
    four_days = pos(8, 56, cluster="Москва")                # deficit 20
    six_days = pos(12, 56, cluster="Казань")                # deficit 16
    p = plan([six_days, four_days], {"A-1": 25})
    assert [(t.cluster, t.quantity, t.coverage) for t in p.tasks] == [
        ("Москва", 20, Coverage.FULL), ("Казань", 5, Coverage.PARTIAL)]


def test_articles_draw_on_their_own_stock():
    p = plan([pos(0, 28, article="A"), pos(0, 28, article="B")], {"A": 100})
    assert [(t.article, t.quantity) for t in p.tasks] == [("A", 14)]
    assert [d.position.article for d in p.purchase_required] == ["B"]


def test_reserved_units_are_not_promised_twice():
    p = plan([pos(0, 28)], {"A-1": 20}, reserved={"A-1": 15})
    assert [(t.quantity, t.coverage) for t in p.tasks] == [(5, Coverage.PARTIAL)]
    p = plan([pos(0, 28)], {"A-1": 20}, reserved={"A-1": 30})
    assert p.tasks == () and len(p.purchase_required) == 1


def test_negative_warehouse_stock_is_rejected():
    with pytest.raises(ValueError, match="negative"):
        plan([pos(0, 28)], {"A-1": -1})


# -- no coverage: purchase required --------------------------------------------------------------------

def test_no_coverage_raises_warehouse_low_and_no_task():
    p = plan([pos(0, 28)], {})
    assert p.tasks == ()
    (alert,) = p.alerts
    assert alert.type == AlertType.WAREHOUSE_LOW and alert.severity == Severity.HIGH
    assert (alert.article, alert.cluster) == ("A-1", "Москва")
    assert "14 шт" in alert.message and "закупка" in alert.message
    assert p.summary.purchase_required == 1


def test_warehouse_low_not_repeated_while_open_and_resolved_once_covered():
    p = pos(0, 28)
    open_low = OpenAlert("WAREHOUSE_LOW", p.brand, p.article, p.cluster, 7)
    again = plan([p], {}, open_alerts=[open_low])
    assert again.alerts == () and again.resolve == () and again.summary.purchase_required == 1
    covered = plan([p], {"A-1": 3}, open_alerts=[open_low])
    assert covered.resolve == (open_low,)
    assert [str(a.type) for a in covered.alerts] == ["TASKS_GENERATED"]


# -- idempotence and numbering -------------------------------------------------------------------------

def test_open_task_blocks_a_new_one():
    p = pos(0, 28)
    result = plan([p, pos(0, 28, cluster="Казань")], {"A-1": 100}, open_keys={p.key})
    assert [t.cluster for t in result.tasks] == ["Казань"]
    assert result.skipped == (p.key,)


def test_second_run_the_same_day_creates_nothing():
    positions = [pos(0, 28), pos(3, 28, cluster="Казань"), pos(0, 28, article="NO-STOCK")]
    first = plan(positions, {"A-1": 100})
    assert len(first.tasks) == 2
    open_alerts = [OpenAlert(str(a.type), a.brand, a.article, a.cluster) for a in first.alerts]
    second = plan(positions, {"A-1": 100}, {t.key for t in first.tasks},
                  next_sequence=len(first.tasks) + 1, open_alerts=open_alerts)
    assert second.tasks == () and second.alerts == ()
    assert second.summary.total_tasks == 0


def test_numbers_continue_from_next_sequence():
    p = plan([pos(0, 28), pos(0, 28, cluster="Казань")], {"A-1": 100}, next_sequence=8)
    assert sorted(t.task_number for t in p.tasks) == ["SUP-20260214-0008", "SUP-20260214-0009"]


def test_duplicate_position_is_an_error():
    with pytest.raises(ValueError, match="twice"):
        plan([pos(0, 28), pos(1, 28)], {"A-1": 100})


# -- summary --------------------------------------------------------------------------------------------

def test_summary_counts_and_tasks_generated_per_brand():
    positions = [pos(0, 28), pos(10, 56, cluster="Казань"), pos(16, 56, cluster="Урал"),
                 pos(0, 28, brand="ohana_kids", article="K"), pos(0, 28, article="NONE")]
    p = plan(positions, {"A-1": 1000, "K": 1000})
    assert p.summary.as_dict() == {"total_tasks": 4, "total_quantity": 14 + 18 + 12 + 14, "urgent": 2,
                                   "planned": 1, "recommended": 1, "purchase_required": 1}
    generated = {a.brand: a for a in p.alerts if a.type == AlertType.TASKS_GENERATED}
    assert set(generated) == {"ohana_market", "ohana_kids"}
    assert generated["ohana_market"].severity == Severity.LOW
    assert "Сформировано 3 заданий (1 urgent)" in generated["ohana_market"].message


def test_summaries_add_up_across_brands():
    a = SupplySummary(1, 10, 1, 0, 0, 2)
    b = SupplySummary(2, 5, 0, 1, 1, 0)
    assert (a + b).as_dict() == {"total_tasks": 3, "total_quantity": 15, "urgent": 1, "planned": 1,
                                 "recommended": 1, "purchase_required": 2}


# -- auto-cancel ----------------------------------------------------------------------------------------

NOW = datetime(2026, 2, 14, 12, 0, tzinfo=UTC)


def task(age: timedelta, status="new", number="SUP-20260212-0001") -> TaskState:
    return TaskState(number, "ohana_market", "A-1", "Москва", status, NOW - age)


def test_new_task_older_than_48h_expires_exactly_48h_does_not():
    assert is_expired(task(timedelta(hours=48, seconds=1)), NOW, RULES)
    assert not is_expired(task(timedelta(hours=48)), NOW, RULES)


@pytest.mark.parametrize("status", ["confirmed", "in_progress", "completed", "cancelled"])
def test_only_new_tasks_expire(status):
    assert not is_expired(task(timedelta(days=10), status), NOW, RULES)


def test_auto_cancel_plan_with_overdue_alerts():
    tasks = [task(timedelta(hours=49), number="SUP-1"), task(timedelta(hours=47), number="SUP-2"),
             task(timedelta(hours=72), "confirmed", number="SUP-3")]
    cancel = plan_auto_cancel(tasks, NOW, RULES)
    assert cancel.task_numbers == ("SUP-1",)
    (alert,) = cancel.alerts
    assert alert.type == AlertType.TASK_OVERDUE and alert.severity == Severity.MEDIUM
    assert "SUP-1" in alert.message and "48ч" in alert.message
    assert (alert.article, alert.cluster) == ("A-1", "Москва")


def test_auto_cancel_age_is_a_rule():
    assert is_expired(task(timedelta(hours=25)), NOW, LogisticRules(auto_cancel_hours=24))


def test_naive_times_are_rejected():
    naive = TaskState("SUP-1", "b", "a", "c", "new", datetime(2026, 2, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_expired(naive, NOW, RULES)
