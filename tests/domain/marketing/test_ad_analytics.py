"""Nightly analytics (seed 002 §7.3.4): anomalies, 14-day trends, offline recommendations."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from adolfd.domain.marketing.ad_analytics import (
    AnalyticsRules,
    CampaignProfile,
    DailyFigures,
    Direction,
    KeywordSummary,
    Priority,
    recommend,
    spend_anomalies,
    spend_anomaly,
    trend,
)

D0 = date(2026, 3, 1)


def series(spends, **kw):
    return [DailyFigures(D0 + timedelta(days=i), spent=s, **kw) for i, s in enumerate(spends)]


def test_anomaly_above_one_and_a_half_times_trailing_mean():
    s = series([1000] * 7 + [1501])
    a = spend_anomaly(s, D0 + timedelta(days=7))
    assert a is not None and a.baseline == 1000 and a.ratio == Decimal("1.50")


def test_exactly_one_and_a_half_times_is_not_an_anomaly():
    assert spend_anomaly(series([1000] * 7 + [1500]), D0 + timedelta(days=7)) is None


def test_missing_days_in_window_count_as_zero():
    s = series([1400] * 8)
    del s[3]                                        # one day without a row: baseline 1200
    a = spend_anomaly(s, D0 + timedelta(days=7))
    assert a is None                                # 1400 < 1800
    s2 = [r for r in series([700] * 7 + [1200]) if r.day != D0 + timedelta(days=6)]
    a2 = spend_anomaly(s2, D0 + timedelta(days=7))   # baseline 600, 1200 > 900
    assert a2 is not None and a2.baseline == 600


def test_no_anomaly_without_a_full_baseline_or_with_zero_baseline():
    assert spend_anomaly(series([1000] * 6 + [9000]), D0 + timedelta(days=6)) is None
    assert spend_anomaly(series([0] * 7 + [9000]), D0 + timedelta(days=7)) is None


def test_anomalies_over_a_range():
    found = spend_anomalies(series([1000] * 7 + [5000, 1000, 1000]), D0, D0 + timedelta(days=9))
    assert [a.day for a in found] == [D0 + timedelta(days=7)]


def test_duplicate_days_are_rejected():
    with pytest.raises(ValueError):
        spend_anomaly(series([1, 1]) + series([1]), D0)


def test_trend_compares_last_week_with_the_one_before():
    rows = [DailyFigures(D0 + timedelta(days=i), views=1000, clicks=10 if i < 7 else 5,
                         spent=1000 if i < 7 else 1300, orders=1, revenue=10_000) for i in range(14)]
    t = trend(rows, D0 + timedelta(days=13))
    assert t.figures["spent"].direction is Direction.UP and t.figures["spent"].change_percent == Decimal("30.0")
    assert t.figures["ctr"].direction is Direction.DOWN and t.figures["ctr"].change_percent == Decimal("-50.0")
    assert t.figures["orders"].direction is Direction.FLAT
    assert t.figures["views"].change_percent == 0


def test_trend_within_ten_percent_is_flat_and_from_zero_is_up():
    rows = [DailyFigures(D0 + timedelta(days=i), spent=1000 if i < 7 else 1100, orders=0 if i < 7 else 1)
            for i in range(14)]
    t = trend(rows, D0 + timedelta(days=13))
    assert t.figures["spent"].direction is Direction.FLAT        # exactly +10 %
    assert t.figures["orders"].direction is Direction.UP and t.figures["orders"].change_percent is None
    assert t.figures["cpo"].direction is Direction.FLAT          # undefined before


def test_recommendations_from_rules():
    rows = [DailyFigures(D0 + timedelta(days=i), views=10_000, clicks=100 if i < 7 else 60,
                         spent=5_000, orders=2, revenue=20_000) for i in range(14)]
    profile = CampaignProfile("Весна", "drr", daily_limit=5_000, target_drr=Decimal("10"))
    t = trend(rows, D0 + timedelta(days=13))
    anomalies = spend_anomalies(rows, D0, D0 + timedelta(days=13))
    recs = recommend(profile, t, anomalies, [KeywordSummary("nm 5/search", 800, 60, 0, 3000),
                                             KeywordSummary("nm 6/search", 800, 20, 0, 100)], rows[-7:])
    kinds = [r.kind for r in recs]
    assert "drr_above_target" in kinds          # 25 % vs 10 %
    assert "ctr_falling" in kinds               # −40 %
    assert "budget_limited" in kinds            # 7 days at the limit
    wasted = next(r for r in recs if r.kind == "keywords_without_orders")
    assert wasted.details["keywords"] == ["nm 5/search"]
    assert recs[0].priority is Priority.HIGH
    assert [r.priority for r in recs] == sorted((r.priority for r in recs),
                                                key=[Priority.HIGH, Priority.MEDIUM, Priority.LOW].index)


def test_quiet_campaign_on_target_gets_no_advice():
    rows = [DailyFigures(D0 + timedelta(days=i), views=10_000, clicks=100, spent=1_000, orders=2, revenue=12_000)
            for i in range(14)]
    t = trend(rows, D0 + timedelta(days=13))
    assert recommend(CampaignProfile("C", "drr", target_drr=Decimal(10)), t, (), (), rows[-7:]) == ()


def test_rules_validation():
    with pytest.raises(ValueError):
        AnalyticsRules(trend_days=7)
