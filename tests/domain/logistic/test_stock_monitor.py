"""Stock monitor rules (seed 000 §8.4.7, DOMAIN.md "Logistic")."""
import math
from fractions import Fraction

import pytest
from adolfd.domain.logistic.stock_monitor import (
    AlertType,
    LogisticAlert,
    LogisticRules,
    OpenAlert,
    Severity,
    StockPosition,
    avg_daily_sales,
    days_of_stock,
    evaluate_stock_alerts,
    new_alerts,
    ozon_marks_deficit,
    split_units,
    stock_level,
)

RULES = LogisticRules()


def pos(fbo: int, units_28d: int, *, article="A-1", cluster="Москва", brand="ohana_market", transit=0,
        ozon=False) -> StockPosition:
    return StockPosition(brand, article, cluster, 1001, fbo, transit, units_28d, ozon)


def opened(type_: str, p: StockPosition, id_: int | None = None) -> OpenAlert:
    return OpenAlert(type_, p.brand, p.article, p.cluster, id_)


def types(plan_alerts) -> list[str]:
    return sorted(str(a.type) for a in plan_alerts)


# -- velocity and days ---------------------------------------------------------------------------------

def test_velocity_is_units_over_window_exactly():
    assert avg_daily_sales(56) == 2
    assert avg_daily_sales(6) == Fraction(3, 14)
    assert avg_daily_sales(10, days=7) == Fraction(10, 7)


@pytest.mark.parametrize("units,days", [(-1, 28), (10, 0)])
def test_velocity_rejects_bad_input(units, days):
    with pytest.raises(ValueError):
        avg_daily_sales(units, days)


def test_days_of_stock_infinite_without_sales():
    assert days_of_stock(50, 0) == math.inf
    assert days_of_stock(0, 0) == math.inf


def test_days_of_stock_lands_exactly_on_boundaries():
    # 9 units against 36 sold in 28 days is exactly 7.0 days; float velocity would give 6.999999999999999
    assert 9 / (36 / 28) < 7
    assert days_of_stock(9, avg_daily_sales(36)) == 7.0
    assert stock_level(pos(9, 36), RULES) is None
    assert days_of_stock(9, avg_daily_sales(84)) == 3.0
    assert days_of_stock(5, 2.5) == 2.0


def test_days_of_stock_rejects_negative():
    with pytest.raises(ValueError):
        days_of_stock(-1, 1)


def test_position_rejects_negative_or_non_integer_stock():
    with pytest.raises(ValueError, match="fbo_stock"):
        pos(-3, 10)
    with pytest.raises(ValueError, match="ordered_units_28d"):
        StockPosition("b", "a", "c", None, 1, 0, 2.5)


# -- levels ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fbo,units,expected", [
    (0, 28, AlertType.OUT_OF_STOCK),      # empty and selling
    (0, 0, None),                         # empty but nothing sells: infinite days
    (1, 28, AlertType.URGENT_STOCK),      # 1 day
    (9, 84, AlertType.LOW_STOCK),         # exactly 3.0 days is not urgent
    (8, 84, AlertType.URGENT_STOCK),      # 2.67 days
    (10, 40, None),                       # exactly 7.0 days is not low
    (9, 40, AlertType.LOW_STOCK),         # 6.3 days
    (500, 0, None),
])
def test_stock_level(fbo, units, expected):
    assert stock_level(pos(fbo, units), RULES) == expected


def test_thresholds_are_rules():
    strict = LogisticRules(urgent_days=5, low_days=10)
    assert stock_level(pos(4, 28), strict) == AlertType.URGENT_STOCK
    assert stock_level(pos(4, 28), RULES) == AlertType.LOW_STOCK


def test_rules_reject_inconsistent_thresholds():
    with pytest.raises(ValueError):
        LogisticRules(urgent_days=8, low_days=7)
    with pytest.raises(ValueError):
        LogisticRules(target_days=0)


# -- alert creation ------------------------------------------------------------------------------------

def test_out_of_stock_raises_only_the_most_severe_level():
    plan = evaluate_stock_alerts([pos(0, 28)], [], RULES)
    assert types(plan.create) == ["OUT_OF_STOCK"]
    alert = plan.create[0]
    assert alert.severity == Severity.CRITICAL
    assert (alert.brand, alert.article, alert.cluster) == ("ohana_market", "A-1", "Москва")
    assert "A-1" in alert.message and "Москва" in alert.message


def test_ozon_urgent_is_independent_of_the_level():
    plan = evaluate_stock_alerts([pos(1, 28, ozon=True), pos(100, 28, article="B", ozon=True)], [], RULES)
    assert [(str(a.type), a.article) for a in plan.create] == [
        ("URGENT_STOCK", "A-1"), ("OZON_URGENT", "A-1"), ("OZON_URGENT", "B")]


def test_severity_per_type():
    plan = evaluate_stock_alerts([pos(0, 28), pos(1, 28, article="U"), pos(9, 40, article="L")], [], RULES)
    assert {str(a.type): a.severity for a in plan.create} == {
        "OUT_OF_STOCK": Severity.CRITICAL, "URGENT_STOCK": Severity.HIGH, "LOW_STOCK": Severity.MEDIUM}


def test_no_duplicate_while_same_alert_is_open():
    p = pos(1, 28, ozon=True)
    first = evaluate_stock_alerts([p], [], RULES)
    still_open = [opened(str(a.type), p) for a in first.create]
    second = evaluate_stock_alerts([p], still_open, RULES)
    assert first.create and second.create == () and second.resolve == ()


def test_open_alert_of_other_cluster_does_not_suppress():
    p = pos(1, 28)
    other = OpenAlert("URGENT_STOCK", p.brand, p.article, "Казань")
    plan = evaluate_stock_alerts([p], [other], RULES)
    assert types(plan.create) == ["URGENT_STOCK"] and plan.resolve == ()


def test_escalation_creates_new_level_and_resolves_the_superseded_one():
    p = pos(1, 28)
    low = opened("LOW_STOCK", p, 11)
    plan = evaluate_stock_alerts([p], [low], RULES)
    assert types(plan.create) == ["URGENT_STOCK"]
    assert plan.resolve == (low,)


def test_de_escalation_keeps_the_more_severe_open_alert():
    p = pos(5, 28)                        # 5 days: LOW level
    out = opened("OUT_OF_STOCK", p, 12)
    plan = evaluate_stock_alerts([p], [out], RULES)
    assert plan.create == () and plan.resolve == ()


# -- recovery ------------------------------------------------------------------------------------------

def test_recovered_at_seven_days_resolves_stock_alerts_of_that_position_only():
    p = pos(10, 40)                      # exactly 7.0 days
    mine = [opened("LOW_STOCK", p, 1), opened("OZON_URGENT", p, 2)]
    not_stock = opened("WAREHOUSE_LOW", p, 3)
    other_cluster = OpenAlert("LOW_STOCK", p.brand, p.article, "Казань", 4)
    plan = evaluate_stock_alerts([p], mine + [not_stock, other_cluster], RULES)
    assert types(plan.create) == ["STOCK_RECOVERED"]
    assert plan.create[0].severity == Severity.LOW
    assert set(plan.resolve) == set(mine)


def test_recovery_keeps_ozon_urgent_while_ozon_still_marks_it():
    p = pos(100, 28, ozon=True)
    low, ozon = opened("LOW_STOCK", p, 1), opened("OZON_URGENT", p, 2)
    plan = evaluate_stock_alerts([p], [low, ozon], RULES)
    assert types(plan.create) == ["STOCK_RECOVERED"]
    assert plan.resolve == (low,)


def test_ozon_urgent_resolves_when_ozon_drops_the_mark():
    p = pos(2, 28)                          # still urgent by days
    urgent, ozon = opened("URGENT_STOCK", p, 1), opened("OZON_URGENT", p, 2)
    plan = evaluate_stock_alerts([p], [urgent, ozon], RULES)
    assert plan.create == () and plan.resolve == (ozon,)


def test_no_recovery_below_seven_days():
    p = pos(9, 40)                          # 6.3 days
    plan = evaluate_stock_alerts([p], [opened("LOW_STOCK", p)], RULES)
    assert plan.create == () and plan.resolve == ()


def test_empty_shelf_with_sales_gone_is_not_a_recovery():
    p = pos(0, 0)                           # out of stock so long that velocity fell to 0
    plan = evaluate_stock_alerts([p], [opened("OUT_OF_STOCK", p)], RULES)
    assert plan.create == () and plan.resolve == ()


def test_nothing_to_recover_means_no_recovered_alert():
    assert evaluate_stock_alerts([pos(100, 28)], [], RULES) == evaluate_stock_alerts([], [], RULES)


def test_positions_absent_from_input_keep_their_alerts():
    gone = OpenAlert("LOW_STOCK", "ohana_kids", "Z", "Москва", 9)
    assert evaluate_stock_alerts([pos(100, 28)], [gone], RULES).resolve == ()


def test_duplicate_position_is_an_error():
    with pytest.raises(ValueError, match="twice"):
        evaluate_stock_alerts([pos(1, 28), pos(5, 28)], [], RULES)


# -- helpers the jobs use ------------------------------------------------------------------------------

@pytest.mark.parametrize("grade,expected", [
    ("DEFICIT", True), ("deficit", True), ("WAS_DEFICIT", False), ("POPULAR", False), (None, False)])
def test_ozon_marks_deficit(grade, expected):
    assert ozon_marks_deficit(grade) is expected


def test_ozon_deficit_grades_are_a_rule():
    assert ozon_marks_deficit("WAITING_FOR_SUPPLY",
                              LogisticRules(ozon_deficit_grades=frozenset({"DEFICIT", "WAITING_FOR_SUPPLY"})))


def test_new_alerts_drops_open_and_repeated_keys():
    a = LogisticAlert(AlertType.WAREHOUSE_LOW, "b", "m", "A", "X")
    b = LogisticAlert(AlertType.WAREHOUSE_LOW, "b", "m", "A", "Y")
    assert new_alerts([a, b, a], [OpenAlert("WAREHOUSE_LOW", "b", "A", "Y")]) == (a,)


# -- article units shared among clusters ---------------------------------------------------------------

def test_split_units_follows_ozon_cluster_sales_and_adds_up():
    parts = split_units(100, {"4": 3.4, "2": 1.6, "7": 1.0})
    assert parts == {"2": 27, "4": 56, "7": 17}
    assert sum(parts.values()) == 100


def test_split_units_largest_remainder_ties_by_key():
    assert split_units(2, {"b": 1.0, "a": 1.0, "c": 1.0}) == {"a": 1, "b": 1, "c": 0}


def test_split_units_without_weights_shares_equally():
    assert split_units(7, {"x": 0.0, "y": 0.0}) == {"x": 4, "y": 3}
    assert split_units(5, {}) == {}
    assert split_units(0, {"x": 2.0}) == {"x": 0}


def test_split_units_rejects_negative():
    with pytest.raises(ValueError):
        split_units(-1, {"x": 1.0})
    with pytest.raises(ValueError):
        split_units(1, {"x": -1.0})


def test_messages_name_the_cluster_for_people():
    p = StockPosition("ohana_market", "A-1", "4", 1, 0, 0, 28, cluster_name="Москва, МО и Дальние регионы")
    (alert,) = evaluate_stock_alerts([p], [], RULES).create
    assert alert.cluster == "4" and "Москва, МО и Дальние регионы" in alert.message


def test_ozon_urgent_is_less_severe_than_our_own_urgent():
    plan = evaluate_stock_alerts([pos(1, 28, ozon=True)], [], RULES)
    severity = {str(a.type): a.severity for a in plan.create}
    assert severity == {"URGENT_STOCK": Severity.HIGH, "OZON_URGENT": Severity.MEDIUM}
