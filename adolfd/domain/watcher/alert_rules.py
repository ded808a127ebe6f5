"""The three price alerts of seed 001 §7.4 `check_alerts` (DOMAIN.md "Watcher"), over prices parsed in the
window the job looks at (20 minutes every 15: windows overlap, so a price is seen twice):

- `price_drop` (warning): a competitor's price fell by ≥ 10 % against its previous parsed price;
- `dumping_detected` (critical): a competitor's price is ≥ 15 % below our latest price of the same SKU;
- `out_of_stock` (info): a competitor in stock at its previous parse is out of stock now.

The same (type, SKU, competitor) is not raised twice within 24 h — counted from the alert already raised, not
from the window, so the overlap of two windows (or a retry) never raises one twice. Within one run the first
candidate of a key wins.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

DROP_PERCENT = Decimal(10)
DUMPING_PERCENT = Decimal(15)
DEDUP_WINDOW = timedelta(hours=24)
LOOKBACK = timedelta(minutes=20)


class AlertType(StrEnum):
    PRICE_DROP = "price_drop"
    DUMPING = "dumping_detected"
    OUT_OF_STOCK = "out_of_stock"


SEVERITY = {AlertType.PRICE_DROP: "warning", AlertType.DUMPING: "critical", AlertType.OUT_OF_STOCK: "info"}


@dataclass(frozen=True)
class ParsedPrice:
    """A competitor's parse in the window, with its previous parse and our latest price of the SKU."""

    competitor_id: int
    sku: str                      # our SKU the competitor is watched against
    marketplace: str
    brand_id: str | None
    price: Decimal | None
    in_stock: bool
    parsed_at: datetime
    previous_price: Decimal | None = None
    previous_in_stock: bool | None = None
    our_price: Decimal | None = None


@dataclass(frozen=True)
class AlertCandidate:
    alert_type: AlertType
    sku: str
    marketplace: str
    brand_id: str | None
    competitor_id: int
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def severity(self) -> str:
        return SEVERITY[self.alert_type]

    @property
    def key(self) -> tuple[str, str, int]:
        return (str(self.alert_type), self.sku, self.competitor_id)


def _pct(part: Decimal, whole: Decimal) -> str:
    return str((part / whole * 100).quantize(Decimal("0.01")))


def evaluate(price: ParsedPrice) -> list[AlertCandidate]:
    """The alerts one parse calls for, before de-duplication."""
    found: list[AlertCandidate] = []

    def candidate(alert_type: AlertType, details: Mapping[str, Any]) -> AlertCandidate:
        return AlertCandidate(alert_type, price.sku, price.marketplace, price.brand_id, price.competitor_id, details)

    if price.in_stock and price.price is not None:
        old = price.previous_price
        if old and old > 0 and (old - price.price) * 100 >= DROP_PERCENT * old:
            found.append(candidate(AlertType.PRICE_DROP, {
                "old_price": str(old), "new_price": str(price.price), "drop_percent": _pct(old - price.price, old)}))
        ours = price.our_price
        if ours and ours > 0 and (ours - price.price) * 100 >= DUMPING_PERCENT * ours:
            found.append(candidate(AlertType.DUMPING, {
                "our_price": str(ours), "new_price": str(price.price),
                "below_percent": _pct(ours - price.price, ours)}))
    if not price.in_stock and price.previous_in_stock:
        found.append(candidate(AlertType.OUT_OF_STOCK, {
            "last_price": str(price.previous_price) if price.previous_price is not None else None}))
    return found


def new_alerts(prices: Iterable[ParsedPrice], recent: Mapping[tuple[str, str, int], datetime],
               now: datetime) -> list[AlertCandidate]:
    """Candidates from every parse, minus those whose key was raised within 24 h before `now` (`recent`: the
    newest created_at per key) and repeats within this run."""
    chosen: dict[tuple[str, str, int], AlertCandidate] = {}
    for price in sorted(prices, key=lambda p: (p.parsed_at, p.competitor_id)):
        for candidate in evaluate(price):
            last = recent.get(candidate.key)
            if last is not None and now - last < DEDUP_WINDOW:
                continue
            chosen.setdefault(candidate.key, candidate)
    return list(chosen.values())
