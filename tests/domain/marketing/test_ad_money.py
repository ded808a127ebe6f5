"""Money units of the advertising APIs (WB kopecks, Ozon Performance micro-roubles, YM % of price)."""
from decimal import Decimal

import pytest
from adolfd.domain.marketing.ad_money import (
    divide_half_up,
    kopecks_to_ozon_micros,
    kopecks_to_roubles,
    kopecks_to_ym_bid,
    ozon_micros_to_kopecks,
    parse_roubles,
    percent,
    ym_bid_to_kopecks,
)


@pytest.mark.parametrize("numerator, denominator, quotient", [
    (5, 2, 3), (-5, 2, -3),            # halves go away from zero, as Decimal's ROUND_HALF_UP
    (7, 3, 2), (8, 3, 3), (-7, 3, -2), (-8, 3, -3), (0, 9, 0), (10**30 + 1, 2, 5 * 10**29 + 1),
])
def test_divide_half_up_rounds_exactly(numerator, denominator, quotient):
    assert divide_half_up(numerator, denominator) == quotient


def test_divide_half_up_needs_a_positive_denominator():
    with pytest.raises(ValueError, match="denominator"):
        divide_half_up(1, 0)


@pytest.mark.parametrize("text, kopecks", [
    ("185,59", 18559), ("1 234.5", 123450), ("0", 0), ("", 0), (None, 0), (12.3, 1230), (7, 700),
    ("0,005", 1),
])
def test_parse_roubles(text, kopecks):
    assert parse_roubles(text) == kopecks


def test_parse_roubles_rejects_garbage():
    with pytest.raises(ValueError):
        parse_roubles("abc")


def test_ozon_micros_round_trip():
    assert kopecks_to_ozon_micros(800) == "8000000"
    assert ozon_micros_to_kopecks("8000000") == 800
    assert ozon_micros_to_kopecks(8_004_999) == 800 and ozon_micros_to_kopecks(8_005_000) == 801


def test_ym_bid_is_share_of_price():
    assert ym_bid_to_kopecks(500, 200_000) == 10_000           # 5 % of 2000 ₽ = 100 ₽
    assert kopecks_to_ym_bid(10_000, 200_000) == 500
    assert kopecks_to_ym_bid(1, 200_000) == 50                 # API minimum 0.5 %
    assert kopecks_to_ym_bid(10**9, 200_000) == 9999           # API maximum
    with pytest.raises(ValueError):
        kopecks_to_ym_bid(100, 0)


def test_percent_and_roubles():
    assert percent(5, 1000) == Decimal("0.5") and percent(1, 0) is None
    assert kopecks_to_roubles(18559) == Decimal("185.59")
