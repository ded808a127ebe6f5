"""Validation of 1C balances (seed 000 §8.4.4, DOMAIN.md sync_brain_stocks)."""
from datetime import UTC, datetime, timedelta, timezone

import pytest
from adolfd.domain.logistic.brain_validation import (
    AnomalyReason,
    BalanceRow,
    is_stale,
    is_sudden_change,
    validate_balance_rows,
)
from adolfd.domain.logistic.stock_monitor import LogisticRules

RULES = LogisticRules()
KNOWN = {"A", "B", "C"}


def validate(rows, history=None, **kw):
    return validate_balance_rows(rows, KNOWN, history or {}, RULES, **kw)


@pytest.mark.parametrize("previous,current,expected", [
    (300, 450, False),      # exactly +50 % (150 units): not more than 50 %
    (300, 451, True),       # +50.3 %, 151 units
    (300, 150, False),      # exactly −50 %
    (300, 149, True),
    (200, 300, False),      # +50 % and exactly 100 units
    (150, 251, True),       # +67 %, 101 units
])
def test_sudden_change_thresholds(previous, current, expected):
    assert is_sudden_change(previous, current, RULES) is expected


def test_sudden_change_needs_both_share_and_units():
    assert not is_sudden_change(100, 200, RULES)        # +100 %, exactly 100 units
    assert is_sudden_change(100, 201, RULES)            # +101 %, 101 units
    assert not is_sudden_change(1000, 1400, RULES)      # 400 units but only 40 %
    assert not is_sudden_change(10, 90, RULES)          # +800 % but only 80 units
    assert is_sudden_change(0, 101, RULES)              # from zero: any share
    assert not is_sudden_change(0, 100, RULES)


def test_rows_are_sorted_into_valid_unmapped_and_anomalies():
    rows = [BalanceRow("A", "Основной", 120), BalanceRow("UNKNOWN", "Основной", 5),
            BalanceRow("B", "Основной", -2), BalanceRow("C", "Основной", 900)]
    result = validate(rows, {("A", "Основной"): 100, ("C", "Основной"): 300})
    assert [r.article for r in result.valid] == ["A"]
    assert [r.article for r in result.unmapped] == ["UNKNOWN"]
    assert [(a.row.article, a.reason, a.previous) for a in result.anomalies] == [
        ("B", AnomalyReason.NEGATIVE_QUANTITY, None), ("C", AnomalyReason.SUDDEN_CHANGE, 300)]
    assert result.counts == {"validated": 1, "unmapped": 1, "anomalies": 2}


def test_unmapped_wins_over_negative():
    result = validate([BalanceRow("UNKNOWN", "W", -5)])
    assert len(result.unmapped) == 1 and result.anomalies == ()


def test_first_row_without_history_is_valid_and_zero_is_valid():
    result = validate([BalanceRow("A", "W", 5000), BalanceRow("B", "W", 0)])
    assert len(result.valid) == 2


def test_history_is_per_warehouse():
    rows = [BalanceRow("A", "Основной", 500), BalanceRow("A", "Резерв", 500)]
    result = validate(rows, {("A", "Основной"): 100, ("A", "Резерв"): 450})
    assert [r.warehouse for r in result.valid] == ["Резерв"]
    assert [a.row.warehouse for a in result.anomalies] == ["Основной"]


def test_split_rows_of_one_article_and_warehouse_are_summed():
    rows = [BalanceRow("A", "W", 40), BalanceRow("A", "W", 60)]
    result = validate(rows, {("A", "W"): 100})
    assert result.valid == (BalanceRow("A", "W", 100),)


def test_a_negative_part_makes_the_sum_an_anomaly():
    result = validate([BalanceRow("A", "W", 40), BalanceRow("A", "W", -1)])
    assert result.valid == () and result.anomalies[0].reason == AnomalyReason.NEGATIVE_QUANTITY


def test_a_sudden_change_repeated_by_the_next_load_is_accepted():
    row = BalanceRow("A", "W", 900)
    history = {("A", "W"): 100}
    assert validate([row], history).anomalies
    result = validate([row], history, previous_anomalies={("A", "W"): 900})
    assert result.valid == (row,) and result.confirmed == (row,) and result.anomalies == ()
    other = validate([row], history, previous_anomalies={("A", "W"): 850})
    assert other.valid == ()


def test_thresholds_are_rules():
    loose = LogisticRules(anomaly_ratio=2.0, anomaly_units=1000)
    assert validate_balance_rows([BalanceRow("A", "W", 900)], KNOWN, {("A", "W"): 100}, loose).valid


def test_non_integer_quantity_is_a_clear_error():
    with pytest.raises(ValueError, match="quantity of A"):
        validate([BalanceRow("A", "W", 1.5)])


NOW = datetime(2026, 2, 14, 8, 0, tzinfo=UTC)


def test_stale_strictly_after_26_hours():
    assert not is_stale(NOW - timedelta(hours=26), NOW)
    assert is_stale(NOW - timedelta(hours=26, seconds=1), NOW)
    assert not is_stale(NOW - timedelta(hours=2), NOW)
    assert is_stale(None, NOW)
    assert is_stale(NOW - timedelta(hours=13), NOW, hours=12)


def test_stale_compares_instants_across_zones():
    msk = timezone(timedelta(hours=3))
    loaded = datetime(2026, 2, 13, 9, 0, tzinfo=msk)        # 06:00 UTC the day before: 26 h
    assert not is_stale(loaded, NOW)


def test_stale_rejects_naive_times():
    with pytest.raises(ValueError):
        is_stale(datetime(2026, 2, 14), NOW)
