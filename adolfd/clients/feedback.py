"""What the reputation jobs need from any marketplace's reviews and questions API (seed 003 §7.3).

Each marketplace client (`wb_feedbacks`, `ozon_reviews`, `ym_feedback`) offers the same three calls:

- `unanswered(item_type, since)`: every unanswered review or question created after `since`, all pages read;
- `seller_answers(item_type, external_id, sku)`: the seller answers the marketplace shows for one item, so that
  `send_response` can look before it publishes (adolfd.domain.reputation.replies.decide_publish);
- `publish(item_type, external_id, sku, text)`: post the reply once (never repeated by the HTTP layer).

A list page whose envelope is wrong fails the whole call with `BadResponse`; one entry that does not match
the model is set aside in `FetchResult.invalid` with the reason, and the other entries are kept. The
marketplace still lists the bad entry as unanswered, so nothing is lost: the poll reports it and does not
move its cursor past it. Every entry is cleaned of characters PostgreSQL or JSON refuse (NUL, lone surrogates,
control characters; `adolfd.domain.reputation.outside_text`) before it is read; `FetchResult.cleaned` names the
entries and fields that were changed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from adolfd.domain.reputation.replies import SellerAnswer
from adolfd.domain.reputation.review_analysis import FeedbackItem, ItemType
from adolfd.outside_text import clean_json

E = TypeVar("E", bound=BaseModel)


@dataclass(frozen=True)
class FetchedItem:
    item: FeedbackItem
    created_at: datetime | None
    sku: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InvalidEntry:
    external_id: str
    error: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class CleanedEntry:
    external_id: str
    fields: tuple[str, ...]


@dataclass
class FetchResult:
    items: list[FetchedItem] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)
    cleaned: list[CleanedEntry] = field(default_factory=list)
    pages: int = 0


class FeedbackSource(Protocol):
    platform: str
    brand: str

    async def unanswered(self, item_type: ItemType, since: datetime) -> FetchResult: ...

    async def seller_answers(self, item_type: ItemType, external_id: str, sku: str) -> list[SellerAnswer]: ...

    async def publish(self, item_type: ItemType, external_id: str, sku: str, text: str) -> str: ...


def collect_entries(
    result: FetchResult,
    entries: Iterable[Any],
    model: type[E],
    to_item: Callable[[E, dict[str, Any]], FetchedItem | None],
    *,
    id_field: str,
    time_field: str,
) -> None:
    """Clean and validate each entry on its own; a bad one becomes an `InvalidEntry` naming its id and the field."""
    for entry in entries:
        if not isinstance(entry, dict):
            result.invalid.append(InvalidEntry("?", f"entry is {type(entry).__name__}, not an object"))
            continue
        raw, changed = clean_json(entry)
        if changed:
            result.cleaned.append(CleanedEntry(str(raw.get(id_field) or "?"), tuple(changed)))
        try:
            fetched = to_item(model.model_validate(raw), raw)
        except (ValidationError, ValueError) as exc:
            result.invalid.append(InvalidEntry(str(raw.get(id_field) or "?"), _reason(exc), _time(raw.get(time_field))))
            continue
        if fetched is not None:
            result.items.append(fetched)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "<entry>"
        return f"{where}: {err['msg']}"
    return str(exc)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
