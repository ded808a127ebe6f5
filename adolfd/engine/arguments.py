"""Types of job arguments whose allowed values are known, so a wrong value is refused at enqueue with the
allowed ones named (DOMAIN.md: marketplaces `wb`, `ozon`, `ym`; brands from settings, or `all`).

Brands are configuration, not code: `BrandId` checks against the brands passed in the validation context
(`JobSpec.validate(..., brands=settings.brands)`); without a context it accepts any text, and the job's
`ctx.brands()` still refuses an unknown one as a permanent error.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo

ALL = "all"
Marketplace = Literal["wb", "ozon", "ym"]
MarketplaceOrAll = Literal["wb", "ozon", "ym", "all"]
Month = Annotated[int, Field(ge=1, le=12)]


def _known_brand(value: str, info: ValidationInfo) -> str:
    brands: Sequence[str] | None = (info.context or {}).get("brands")
    if brands is not None and value != ALL and value not in brands:
        raise ValueError(f"unknown brand {value!r}; allowed: {ALL}, {', '.join(brands)}")
    return value


BrandId = Annotated[str, AfterValidator(_known_brand)]


def validation_context(brands: Sequence[str] | None) -> dict[str, object] | None:
    return None if brands is None else {"brands": list(brands)}


__all__ = ["ALL", "BrandId", "Marketplace", "MarketplaceOrAll", "Month", "validation_context"]
