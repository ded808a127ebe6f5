"""Inputs before outputs for generate_supply_tasks (seed 000 §8.6, DOMAIN.md "Time and schedules")."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from adolfd.domain.logistic.readiness import Decision, InputRuns, missing_inputs, supply_readiness
from adolfd.domain.logistic.stock_monitor import AlertType, LogisticRules, Severity

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 2, 14, 7, 0, tzinfo=MSK)


BRAIN_RUN = NOW.replace(hour=6, minute=31)
ANALYTICS_RUN = NOW.replace(hour=5, minute=2)
STOCKS_RUN = NOW.replace(hour=6, minute=30)


def runs(brain=BRAIN_RUN, analytics=ANALYTICS_RUN, stocks=STOCKS_RUN) -> InputRuns:
    return InputRuns(brain, analytics, stocks)


def test_all_inputs_present_runs():
    ready = supply_readiness(runs(), NOW, 0)
    assert ready.decision == Decision.RUN and ready.missing == () and ready.alert is None


def test_today_is_the_moscow_day():
    # 00:30 Moscow on the 14th is 21:30 UTC on the 13th: still today in Moscow
    just_after_midnight = datetime(2026, 2, 13, 21, 30, tzinfo=UTC)
    assert missing_inputs(runs(brain=just_after_midnight), NOW) == ()
    # 23:59 Moscow on the 13th is yesterday
    yesterday = datetime(2026, 2, 13, 23, 59, tzinfo=MSK)
    assert missing_inputs(runs(brain=yesterday, analytics=yesterday), NOW) == (
        "sync_brain_stocks", "sync_ozon_analytics")


def test_stocks_must_be_within_the_last_hour():
    assert missing_inputs(runs(stocks=NOW - timedelta(hours=1)), NOW) == ()
    assert missing_inputs(runs(stocks=NOW - timedelta(hours=1, seconds=1)), NOW) == ("sync_ozon_stocks",)
    assert missing_inputs(runs(stocks=None), NOW) == ("sync_ozon_stocks",)


def test_missing_input_defers_ten_minutes_six_times_then_runs_with_warning():
    decisions = []
    for n in range(7):
        now = NOW + timedelta(minutes=10 * n)
        stocks = now.replace(minute=0 if now.minute < 30 else 30)    # the */30 stock sync keeps running
        decisions.append(supply_readiness(runs(brain=None, stocks=stocks), now, n))
    assert [d.decision for d in decisions[:6]] == [Decision.DEFER] * 6
    assert all(d.defer_by == timedelta(minutes=10) and d.alert is None for d in decisions[:6])
    last = decisions[6]
    assert last.decision == Decision.RUN_STALE and last.missing == ("sync_brain_stocks",)
    assert last.alert.type == AlertType.DATA_STALE and last.alert.severity == Severity.MEDIUM
    assert "sync_brain_stocks" in last.alert.message and "60 мин" in last.alert.message


def test_input_arriving_while_deferred_runs_normally():
    assert supply_readiness(runs(), NOW + timedelta(minutes=30), 3).decision == Decision.RUN


def test_warning_names_every_missing_input_with_its_last_run():
    stale_stocks = NOW - timedelta(hours=3)
    ready = supply_readiness(runs(analytics=None, stocks=stale_stocks), NOW, 6)
    assert ready.missing == ("sync_ozon_analytics", "sync_ozon_stocks")
    assert "sync_ozon_analytics (ни одного успешного запуска)" in ready.alert.message
    assert "sync_ozon_stocks (последний успешный 14.02 04:00)" in ready.alert.message
    assert "sync_brain_stocks" not in ready.alert.message


def test_deferral_limits_are_rules():
    rules = LogisticRules(readiness_max_deferrals=2, readiness_defer_minutes=5)
    assert supply_readiness(runs(brain=None), NOW, 1, rules).defer_by == timedelta(minutes=5)
    assert supply_readiness(runs(brain=None), NOW, 2, rules).decision == Decision.RUN_STALE


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError):
        supply_readiness(runs(), NOW, -1)
    with pytest.raises(ValueError):
        supply_readiness(runs(), datetime(2026, 2, 14, 7, 0), 0)
