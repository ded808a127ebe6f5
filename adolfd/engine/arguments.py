"""Types of job arguments whose allowed values are known, so a wrong value is refused at enqueue with the
allowed ones named (DOMAIN.md: marketplaces `wb`, `ozon`, `ym`; brands from settings, or `all`).

Brands are configuration, not code: `BrandId` checks against the brands passed in the validation context
(`JobSpec.validate(..., brands=settings.brands)`); without a context it accepts any text, and the job's
`ctx.brands()` still refuses an unknown one as a permanent error.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo

ALL = "all"
Marketplace = Literal["wb", "ozon", "ym"]
MarketplaceOrAll = Literal["wb", "ozon", "ym", "all"]
Month = Annotated[int, Field(ge=1, le=12)]


def between(low: float, high: float, unit: str = "") -> AfterValidator:
    """A number an operator may pass only within [low, high]; the refusal names the range. A job that deletes or
    cancels by age gets the seed's retention as its `low`, so a typo cannot wipe history."""
    def check(value: Any) -> Any:
        if value is not None and not low <= value <= high:
            raise ValueError(f"allowed: {low:g} to {high:g}{' ' + unit if unit else ''}, not {value:g}")
        return value
    return AfterValidator(check)


def _sane_date(value: date | None) -> date | None:
    if value is not None and not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"allowed: {FIRST_DATE} to {LAST_DATE}, not {value}")
    return value


FIRST_DATE, LAST_DATE = date(2020, 1, 1), date(2099, 12, 31)
Year = Annotated[int, between(FIRST_DATE.year, LAST_DATE.year)]
JobDate = Annotated[date, AfterValidator(_sane_date)]          # a day adolfd can hold data for
Id = Annotated[int, between(1, 2**63 - 1)]                     # a bigserial id
ChatId = Annotated[int, between(-(2**52), 2**52)]              # a Telegram chat id (groups are negative)
Text = Annotated[str, Field(max_length=1000)]                  # free text an operator passes (a reason, a note)
Details = Annotated[dict[str, Any], Field(max_length=50)]      # a small JSON object of extra fields


def _known_brand(value: str, info: ValidationInfo) -> str:
    brands: Sequence[str] | None = (info.context or {}).get("brands")
    if brands is not None and value != ALL and value not in brands:
        raise ValueError(f"unknown brand {value!r}; allowed: {ALL}, {', '.join(brands)}")
    return value


BrandId = Annotated[str, AfterValidator(_known_brand)]


def validation_context(brands: Sequence[str] | None) -> dict[str, object] | None:
    return None if brands is None else {"brands": list(brands)}


__all__ = ["ALL", "BrandId", "ChatId", "Details", "Id", "JobDate", "Marketplace", "MarketplaceOrAll", "Month",
           "Text", "Year", "between", "validation_context"]
