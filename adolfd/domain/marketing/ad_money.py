"""Money and bid units of the marketing module (seed 002).

adolfd keeps every amount of advertising money as an integer number of **kopecks** (1 ₽ = 100): exact,
cheap to compare, and what Wildberries uses natively (`bid_kopecks`). Each marketplace's own unit is
converted at the client boundary with the functions below, never inside a rule:

- Wildberries: kopecks (`bid_kopecks`), no conversion.
- Ozon Performance: millionths of a rouble as strings (`"8000000"` = 8 ₽), so 1 kopeck = 10 000.
- Yandex Market: a bid is a share of the item's price in hundredths of a percent (`500` = 5 %), 50..9999;
  its money value depends on the price, so converting needs the price.

Percentages (CTR, ad cost share, targets) are `Decimal` percent values, e.g. `Decimal("12.5")` = 12.5 %,
as the seed's SQL stores `avg_ctr` and `avg_drr`.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

KOPECKS_PER_ROUBLE = 100
OZON_MICROS_PER_KOPECK = 10_000
YM_BID_MIN = 50        # 0.5 % of the price (YM-OA, PUT /v2/businesses/{id}/bids)
YM_BID_MAX = 9999      # 99.99 %


def percent_ratio(percent: Decimal) -> tuple[int, int]:
    """A percent as the exact fraction it stands for: `percent_ratio(Decimal("2.5")) == (5, 200)` (2.5 ÷ 100).
    Rules turn their percentages into this once, so per-unit arithmetic stays in integers (`divide_half_up`)."""
    numerator, denominator = Decimal(percent).as_integer_ratio()
    return numerator, denominator * 100


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator rounded half away from zero, exactly (Decimal's ROUND_HALF_UP without a Decimal:
    the bid cycle converts and scales thousands of amounts a run)."""
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    if numerator < 0:
        return -((-2 * numerator + denominator) // (2 * denominator))
    return (2 * numerator + denominator) // (2 * denominator)


def rouble(amount: Decimal | int | str) -> int:
    """Roubles (possibly fractional) → kopecks, rounded half up. `rouble("185.59") == 18559`."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError(f"not a rouble amount: {amount!r}") from exc
    return int((value * KOPECKS_PER_ROUBLE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_roubles(text: str | int | float | Decimal | None) -> int:
    """A marketplace's rouble figure (`"185,59"`, `"1 234.5"`, 12.3, None) → kopecks; None and "" are 0."""
    if text is None:
        return 0
    if isinstance(text, (int, Decimal)):
        return rouble(text)
    if isinstance(text, float):
        return rouble(repr(text))
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    return rouble(cleaned) if cleaned else 0


def kopecks_to_roubles(kopecks: int) -> Decimal:
    """Kopecks → a two-decimal rouble `Decimal` for text, CSV and NUMERIC(12,2) columns."""
    return (Decimal(kopecks) / KOPECKS_PER_ROUBLE).quantize(Decimal("0.01"))


def ozon_micros_to_kopecks(micros: int | str) -> int:
    """Ozon Performance money (millionths of a rouble) → kopecks, rounded half up."""
    value = Decimal(str(micros))
    return int((value / OZON_MICROS_PER_KOPECK).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def kopecks_to_ozon_micros(kopecks: int) -> str:
    """Kopecks → Ozon Performance bid string (uint64 as text)."""
    if kopecks < 0:
        raise ValueError(f"negative bid: {kopecks}")
    return str(kopecks * OZON_MICROS_PER_KOPECK)


def ym_bid_to_kopecks(bid: int, price_kopecks: int) -> int:
    """A Yandex Market bid (hundredths of a percent of the price) → what it costs per sale, in kopecks."""
    if price_kopecks <= 0:
        raise ValueError(f"a YM bid needs a positive item price, got {price_kopecks}")
    return divide_half_up(bid * price_kopecks, 10_000)


def kopecks_to_ym_bid(kopecks: int, price_kopecks: int) -> int:
    """Kopecks → a YM bid value for an item of this price, clamped to the API's 50..9999."""
    if price_kopecks <= 0:
        raise ValueError(f"a YM bid needs a positive item price, got {price_kopecks}")
    return max(YM_BID_MIN, min(YM_BID_MAX, divide_half_up(kopecks * 10_000, price_kopecks)))


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """`part / whole × 100` as a Decimal, or None when `whole` is 0 (the share is undefined)."""
    if whole == 0:
        return None
    return Decimal(part) * 100 / Decimal(whole)
