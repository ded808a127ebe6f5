"""Is a channel post a car-sale ad? (seed 004 "AI обработка": classification; DOMAIN.md "Carsbot").

The offline rule: an ad names a car (make, or a model that implies one), a plausible price, and either a sale
word («продам», «цена», «торг») or a car's particulars (year, mileage). A post whose opening speaks of buying,
parts, services or news («Куплю», «Продам шины», «Шиномонтаж», «ДТП на МКАД») is not an ad even when it names a
car and a price: only the opening counts, so «…зимняя резина в подарок» at the end of a real ad does not
reject it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from adolfd.domain.carsbot.extraction import CarAd, fold
from adolfd.domain.carsbot.vocabulary import NOT_A_SALE, SALE_WORDS

OPENING_CHARS = 80


@dataclass(frozen=True)
class Verdict:
    is_ad: bool
    reasons: tuple[str, ...]
    confidence: float


def _has_any(folded: str, stems: tuple[str, ...]) -> str | None:
    return next((s for s in stems if re.search(r"(?<![а-яa-z])" + re.escape(s), folded)), None)


def classify(text: str, ad: CarAd) -> Verdict:
    """`ad` is what `extract_ad` found in `text`; reasons name what decided."""
    folded = fold(text)
    if not folded.strip():
        return Verdict(False, ("empty",), 1.0)
    opening = folded[:OPENING_CHARS]
    refusal = _has_any(opening, NOT_A_SALE)
    if refusal:
        return Verdict(False, (f"not_a_sale:{refusal.strip()}",), 0.9)
    missing = [name for name, value in (("make", ad.make), ("price", ad.price_rub)) if value is None]
    if missing:
        return Verdict(False, tuple(f"no_{name}" for name in missing), 0.8)
    signals = [name for name, present in (("sale_word", _has_any(folded, SALE_WORDS) is not None),
                                          ("year", ad.year is not None), ("mileage", ad.mileage_km is not None))
               if present]
    if not signals:
        return Verdict(False, ("no_sale_signal",), 0.6)
    return Verdict(True, ("make", "price", *signals), min(0.5 + 0.15 * len(signals), 0.95))
