"""Carsbot's AI pipeline with the offline provider: posts per second through classify → extract → generate, and
extraction accuracy field by field on the labelled set (tests/domain/carsbot/ads.json).

Each post goes through `OfflineProvider.complete_json` exactly as `process_post_task` calls it (prompt built,
answer validated by the schema), without the database or the queue. Run: `.venv/bin/python bench/carsbot_pipeline.py
[--rounds 50]`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adolfd.clients.llm import build_provider  # noqa: E402
from adolfd.domain.carsbot.answers import (  # noqa: E402
    CarAdFields,
    CarAdVerdict,
    CarPostText,
    classification_prompt,
    extraction_prompt,
    generation_prompt,
)
from adolfd.domain.carsbot.post_text import TEXT_LIMIT  # noqa: E402
from adolfd.settings import Settings  # noqa: E402

CASES = json.loads((Path(__file__).resolve().parent.parent / "tests/domain/carsbot/ads.json").read_text("utf-8"))
FIELDS = ("make", "model", "year", "price_rub", "mileage_km", "city", "contact")
MAX_YEAR = 2027


async def _one(provider, text: str) -> CarAdFields | None:
    verdict = await provider.complete_json(classification_prompt(text, MAX_YEAR), CarAdVerdict)
    if not verdict.is_ad:
        return None
    fields = await provider.complete_json(extraction_prompt(text, MAX_YEAR), CarAdFields)
    await provider.complete_json(generation_prompt(text, fields, TEXT_LIMIT), CarPostText)
    return fields


async def main(rounds: int) -> None:
    provider = build_provider(Settings(), None, None)
    texts = [c["text"] for c in CASES["ads"]] + CASES["non_ads"]
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            await _one(provider, text)
    elapsed = time.perf_counter() - started
    posts = rounds * len(texts)
    hits = dict.fromkeys(FIELDS, 0)
    for case in CASES["ads"]:
        got = (await _one(provider, case["text"]))
        for name in FIELDS:
            hits[name] += got is not None and getattr(got, name) == case["expected"][name]
    rejected = sum([await _one(provider, t) is None for t in CASES["non_ads"]])
    print(json.dumps({
        "posts": posts, "seconds": round(elapsed, 3), "posts_per_second": round(posts / elapsed, 1),
        "ads": len(CASES["ads"]), "non_ads": len(CASES["non_ads"]), "non_ads_rejected": rejected,
        "accuracy": {name: round(hits[name] / len(CASES["ads"]), 3) for name in FIELDS},
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    asyncio.run(main(parser.parse_args().rounds))
