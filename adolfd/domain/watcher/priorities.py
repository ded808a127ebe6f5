"""Monitoring priority of a competitor, 0–100 (seed 001 §7.7 `_calculate_competitor_priority`), exactly the
seed's scoring over the last 30 days:

- base 50;
- price changes: ≥ 10 → +20, ≥ 5 → +10, none → −10;
- average discount: ≥ 30 % → +15, ≥ 15 % → +5 (no discount data, or 0, adds nothing: the seed tests truthiness);
- distance of its latest price from ours: |diff| ≤ 5 % → +15, ≤ 15 % → +5, > 50 % → −10 (unknown: nothing);
- dumping alerts: ≥ 2 → +20, 1 → +10;
- clamped to 0–100.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

BASE = 50
WINDOW_DAYS = 30


@dataclass(frozen=True)
class PriorityInputs:
    price_changes: int
    avg_discount: Decimal | None
    price_diff_pct: Decimal | None
    dumping_alerts: int


def count_price_changes(prices: Sequence[Decimal]) -> int:
    """Changes between consecutive parsed prices, oldest first (seed `_count_price_changes`)."""
    return sum(1 for before, after in zip(prices, prices[1:], strict=False) if after != before)


def price_difference_pct(competitor: Decimal | None, ours: Decimal | None) -> Decimal | None:
    """(theirs − ours) / ours × 100; unknown when either price is missing or ours is 0
    (seed `_get_price_difference`)."""
    if not competitor or not ours:
        return None
    return (competitor - ours) / ours * 100


def competitor_priority(inputs: PriorityInputs) -> int:
    score = BASE
    if inputs.price_changes >= 10:
        score += 20
    elif inputs.price_changes >= 5:
        score += 10
    elif inputs.price_changes == 0:
        score -= 10
    discount = inputs.avg_discount
    if discount and discount >= 30:
        score += 15
    elif discount and discount >= 15:
        score += 5
    if inputs.price_diff_pct is not None:
        distance = abs(inputs.price_diff_pct)
        if distance <= 5:
            score += 15
        elif distance <= 15:
            score += 5
        elif distance > 50:
            score -= 10
    if inputs.dumping_alerts >= 2:
        score += 20
    elif inputs.dumping_alerts >= 1:
        score += 10
    return max(0, min(100, score))
