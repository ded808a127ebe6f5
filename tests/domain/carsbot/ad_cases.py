"""The labelled car-ad set (ads.json beside this file) and field-by-field scoring of an extractor on it."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIELDS = ("make", "model", "year", "price_rub", "mileage_km", "city", "contact")
CASES = json.loads((Path(__file__).with_name("ads.json")).read_text(encoding="utf-8"))


def field_accuracy(extract: Callable[[str], dict[str, Any]]) -> dict[str, float]:
    """Share of ads whose field equals the label, per field."""
    hits = dict.fromkeys(FIELDS, 0)
    for case in CASES["ads"]:
        got = extract(case["text"])
        for name in FIELDS:
            hits[name] += got.get(name) == case["expected"][name]
    return {name: hits[name] / len(CASES["ads"]) for name in FIELDS}
