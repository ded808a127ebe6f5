"""Seed 001 §7.7 priority formula at every band edge."""
from decimal import Decimal as D

import pytest
from adolfd.domain.watcher.priorities import (
    PriorityInputs,
    competitor_priority,
    count_price_changes,
    price_difference_pct,
)


def score(changes=3, discount=None, diff=None, dumping=0) -> int:
    """Neutral defaults: 3 changes (no band), no discount, unknown distance, no dumping → base 50."""
    return competitor_priority(PriorityInputs(changes, None if discount is None else D(discount),
                                              None if diff is None else D(diff), dumping))


def test_neutral_is_base():
    assert score() == 50


@pytest.mark.parametrize("changes, expected", [(0, 40), (1, 50), (4, 50), (5, 60), (9, 60), (10, 70), (50, 70)])
def test_price_change_bands(changes, expected):
    assert score(changes=changes) == expected


@pytest.mark.parametrize("discount, expected", [
    ("0", 50), ("14.99", 50), ("15", 55), ("29.99", 55), ("30", 65), ("90", 65)])
def test_discount_bands(discount, expected):
    assert score(discount=discount) == expected


@pytest.mark.parametrize("diff, expected", [
    ("0", 65), ("5", 65), ("-5", 65), ("5.01", 55), ("-15", 55), ("15", 55), ("15.01", 50),
    ("50", 50), ("-50", 50), ("50.01", 40), ("-50.01", 40)])
def test_distance_bands(diff, expected):
    assert score(diff=diff) == expected


@pytest.mark.parametrize("dumping, expected", [(0, 50), (1, 60), (2, 70), (7, 70)])
def test_dumping_bands(dumping, expected):
    assert score(dumping=dumping) == expected


def test_clamped_to_0_and_100():
    assert score(changes=10, discount="30", diff="0", dumping=2) == 100   # 50+20+15+15+20 = 120
    assert competitor_priority(PriorityInputs(0, None, D("80"), 0)) == 30   # 50-10-10, never below 0 here
    assert 0 <= score(changes=0, diff="99") <= 100


def test_count_price_changes_and_difference():
    assert count_price_changes([D(1), D(1), D(2), D(1)]) == 2
    assert count_price_changes([D(5)]) == 0
    assert price_difference_pct(D(90), D(100)) == D(-10)
    assert price_difference_pct(None, D(100)) is None
    assert price_difference_pct(D(90), D(0)) is None
