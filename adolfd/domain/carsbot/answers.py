"""What the AI pipeline asks a language model, and the offline answers (seed 004 "AI обработка").

Three prompts, one per step: classification (`CarAdVerdict`), extraction (`CarAdFields`), generation
(`CarPostText`). Each prompt ends with the post between fixed markers, so the offline rules (and the sandbox
model) read back exactly the text the pipeline sent. Whatever a model answers is validated by these schemas;
a price or a year outside what a car can have is refused there, not trusted.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable

from pydantic import BaseModel, Field

from adolfd.domain.carsbot.classification import classify
from adolfd.domain.carsbot.extraction import MIN_YEAR, CarAd, extract_ad
from adolfd.domain.carsbot.post_text import render_post

POST_START = "<<<POST"
POST_END = "POST>>>"
FIELDS_LABEL = "Fields: "
MAX_YEAR_LABEL = "Newest model year: "


class CarAdVerdict(BaseModel):
    """Is the post a car-sale ad."""

    is_ad: bool
    confidence: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list, max_length=12)


class CarAdFields(BaseModel):
    """The ad's particulars; null where the post does not say."""

    make: str | None = Field(default=None, max_length=40)
    model: str | None = Field(default=None, max_length=60)
    year: int | None = Field(default=None, ge=MIN_YEAR, le=2100)
    price_rub: int | None = Field(default=None, ge=0, le=1_000_000_000)
    mileage_km: int | None = Field(default=None, ge=0, le=3_000_000)
    city: str | None = Field(default=None, max_length=60)
    contact: str | None = Field(default=None, max_length=80)

    def to_ad(self) -> CarAd:
        return CarAd(**self.model_dump())


class CarPostText(BaseModel):
    """The channel post, Telegram HTML."""

    text: str = Field(min_length=1, max_length=4096)


def _post(text: str) -> str:
    return f"{POST_START}\n{text}\n{POST_END}"


def classification_prompt(text: str, max_year: int) -> str:
    return ("Is this Telegram post an offer to sell a car (not buying, parts, services or news)?\n"
            f"{MAX_YEAR_LABEL}{max_year}\n{_post(text)}")


def extraction_prompt(text: str, max_year: int) -> str:
    return ("Extract the car's make, model, year, price in roubles, mileage in km, city and the seller's "
            f"contact (phone as +7XXXXXXXXXX or @username).\n{MAX_YEAR_LABEL}{max_year}\n{_post(text)}")


def generation_prompt(text: str, fields: CarAdFields, limit: int) -> str:
    return ("Write the post for our car-ads channel in Russian, Telegram HTML, at most "
            f"{limit} visible characters.\n{FIELDS_LABEL}{fields.model_dump_json()}\n{_post(text)}")


def post_of(prompt: str) -> str:
    start, end = prompt.find(POST_START), prompt.rfind(POST_END)
    if start < 0 or end < start:
        raise ValueError("prompt carries no post between the markers")
    return prompt[start + len(POST_START) + 1:end - 1]


def _max_year(prompt: str) -> int:
    m = re.search(re.escape(MAX_YEAR_LABEL) + r"(\d{4})", prompt)
    if m is None:
        raise ValueError("prompt carries no newest model year")
    return int(m.group(1))


def offline_verdict(prompt: str) -> CarAdVerdict:
    text = post_of(prompt)
    verdict = classify(text, extract_ad(text, max_year=_max_year(prompt)))
    return CarAdVerdict(is_ad=verdict.is_ad, confidence=verdict.confidence, reasons=list(verdict.reasons))


def offline_fields(prompt: str) -> CarAdFields:
    return CarAdFields(**extract_ad(post_of(prompt), max_year=_max_year(prompt)).as_json())


def offline_post(prompt: str) -> CarPostText:
    m = re.search(re.escape(FIELDS_LABEL) + r"(\{.*\})", prompt)
    if m is None:
        raise ValueError("prompt carries no fields")
    stated = re.search(r"at most (\d+) visible", prompt) if "visible" in prompt else None
    limit = int(stated.group(1)) if stated is not None else 4096
    fields = CarAdFields.model_validate(json.loads(m.group(1)))
    return CarPostText(text=render_post(fields.to_ad(), post_of(prompt), limit=limit))


OFFLINE_RULES: dict[type[BaseModel], Callable[[str], BaseModel]] = {
    CarAdVerdict: offline_verdict, CarAdFields: offline_fields, CarPostText: offline_post}
