"""Freshness of brain_* tables (seed 000 §8.4.4a, DOMAIN.md check_brain_freshness)."""
from datetime import UTC, datetime, timedelta

import pytest
from adolfd.domain.logistic.freshness import BRAIN_TABLES, check_freshness
from adolfd.domain.logistic.stock_monitor import AlertType, LogisticRules, Severity

NOW = datetime(2026, 2, 14, 8, 0, tzinfo=UTC)


def loads(**ages_hours):
    """newest loaded_at per seed table: fresh (1 h) unless given; None means the table is empty."""
    return {t: None if ages_hours.get(t, 1) is None else NOW - timedelta(hours=ages_hours.get(t, 1))
            for t in BRAIN_TABLES}


def test_all_fresh_means_no_alert():
    report = check_freshness(loads(brain_stock_balance=26), NOW)
    assert report.stale == () and report.alert is None
    assert report.as_result() == {"stale": [], "all_fresh": True}
    assert report.age_hours["brain_stock_balance"] == 26


def test_stale_and_empty_tables_give_one_high_alert_naming_them():
    report = check_freshness(loads(brain_customer_orders=30, brain_goods_receipts=None), NOW)
    assert report.stale == ("brain_customer_orders", "brain_goods_receipts")
    assert report.as_result() == {"stale": ["brain_customer_orders", "brain_goods_receipts"], "all_fresh": False}
    alert = report.alert
    assert alert.type == AlertType.DATA_STALE and alert.severity == Severity.HIGH
    assert "brain_customer_orders (30 ч)" in alert.message and "brain_goods_receipts (нет данных)" in alert.message
    assert "brain_stock_balance" not in alert.message
    assert report.age_hours["brain_goods_receipts"] is None


def test_just_over_26_hours_is_stale():
    report = check_freshness(loads(brain_stock_balance=26 + 1 / 3600), NOW)
    assert report.stale == ("brain_stock_balance",)


def test_stale_hours_is_a_rule():
    assert check_freshness(loads(brain_stock_balance=13), NOW, LogisticRules(brain_stale_hours=12)).stale


def test_naive_now_is_rejected():
    with pytest.raises(ValueError):
        check_freshness(loads(), datetime(2026, 2, 14))
