"""Extraction and classification of Russian car-sale ads (seed 004 "AI обработка")."""
from __future__ import annotations

import pytest
from adolfd.domain.carsbot.classification import classify
from adolfd.domain.carsbot.extraction import extract_ad, find_mileage, find_price, fold

from .ad_cases import CASES, FIELDS, field_accuracy

MAX_YEAR = 2027
FLOOR = 0.9


def test_the_set_is_big_enough():
    assert len(CASES["ads"]) >= 30 and len(CASES["non_ads"]) >= 10
    assert all(set(c["expected"]) == set(FIELDS) for c in CASES["ads"])


def test_field_accuracy_stays_above_the_floor():
    accuracy = field_accuracy(lambda text: extract_ad(text, max_year=MAX_YEAR).as_json())
    print("field accuracy:", {k: round(v, 3) for k, v in accuracy.items()})
    low = {name: share for name, share in accuracy.items() if share < FLOOR}
    assert not low, low


@pytest.mark.parametrize("case", CASES["ads"], ids=lambda c: c["text"][:30])
def test_every_ad_is_an_ad(case):
    assert classify(case["text"], extract_ad(case["text"], max_year=MAX_YEAR)).is_ad


@pytest.mark.parametrize("text", CASES["non_ads"], ids=lambda t: t[:30] or "empty")
def test_non_ads_are_rejected_with_a_reason(text):
    verdict = classify(text, extract_ad(text, max_year=MAX_YEAR))
    assert not verdict.is_ad and verdict.reasons


@pytest.mark.parametrize("text, roubles", [
    ("цена 1 250 000 ₽", 1_250_000), ("1.25 млн", 1_250_000), ("850 тыс", 850_000), ("950к", 950_000),
    ("1,9 млн руб", 1_900_000), ("Цена: 1250000", 1_250_000), ("1.250.000 руб.", 1_250_000),
    ("690000 р.", 690_000), ("прошу 2 млн", 2_000_000),
])
def test_price_forms(text, roubles):
    assert find_price(fold(text))[0] == roubles


@pytest.mark.parametrize("text", ["пробег 120 тыс. км", "85 000 км", "2018 г.", "тел 89161234567 "])
def test_mileage_years_and_lone_numbers_are_not_prices(text):
    assert find_price(fold(text))[0] is None


@pytest.mark.parametrize("text, km", [
    ("пробег 85 000 км", 85_000), ("120 тыс. км", 120_000), ("пробег 45т.км", 45_000),
    ("пробег: 120000", 120_000), ("пробег 45 тыс", 45_000), ("1.5 тыс км", 1_500),
])
def test_mileage_forms(text, km):
    assert find_mileage(fold(text))[0] == km


def test_a_future_year_is_not_a_model_year_and_a_price_is_not_a_year():
    ad = extract_ad("Продам Kia Rio 2031 г., цена 2 019 000 руб", max_year=MAX_YEAR)
    assert ad.year is None and ad.price_rub == 2_019_000


def test_a_model_implies_its_make_and_phone_digits_are_not_numbers():
    ad = extract_ad("Продаю Солярис, 8 916 201 80 00, 700 тыс", max_year=MAX_YEAR)
    assert (ad.make, ad.model, ad.year, ad.price_rub, ad.contact) == (
        "Hyundai", "Solaris", None, 700_000, "+79162018000")


def test_a_cheap_price_is_not_a_car():
    text = "Продам Toyota Camry на запчасти? нет, продам коврики для Тойота Камри, 3 500 руб"
    assert classify(text, extract_ad(text, max_year=MAX_YEAR)).is_ad is False
