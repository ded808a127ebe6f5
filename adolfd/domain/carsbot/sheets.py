"""Reading the operator's Google Sheets (seed 004 "Синхронизация с Google Sheets"; docs/carsbot.md "Sheets").

The first row of a sheet is its header; columns are found by name (case and spacing ignored), so the operator
may reorder them. A missing required column makes the whole sheet unusable: nothing is changed and nothing is
deactivated, and the problem is reported as row 1. A garbled row (bad id, bad date, blank id, duplicate id) is
reported with its sheet row number and skipped; every other row still syncs. A row whose id is readable but
whose other cells are not keeps that id "present", so an existing record is left as it was rather than
deactivated for a typo. Wholly empty rows are ignored (sheets keep blank rows at the end).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

CHANNEL_COLUMNS = ("channel_id", "username", "title", "active")
CHANNEL_REQUIRED = ("channel_id",)
SUBSCRIBER_COLUMNS = ("telegram_id", "username", "plan", "expires_at")
SUBSCRIBER_REQUIRED = ("telegram_id", "expires_at")
ANALYTICS_HEADER = ("date", "channel_id", "channel", "posts_received", "ads_found", "published", "rejected")

_TRUE = {"", "1", "да", "yes", "true", "y", "д", "+", "on", "активен", "вкл"}
_FALSE = {"0", "нет", "no", "false", "n", "н", "-", "off", "неактивен", "выкл"}
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y")


@dataclass(frozen=True)
class SheetIssue:
    row: int            # 1-based sheet row, as the operator sees it
    problem: str

    def as_json(self) -> dict[str, object]:
        return {"row": self.row, "problem": self.problem}


@dataclass(frozen=True)
class ChannelRow:
    row: int
    channel_id: int
    username: str | None
    title: str
    active: bool


@dataclass(frozen=True)
class SubscriberRow:
    row: int
    telegram_id: int
    username: str | None
    plan: str
    expires_on: date


@dataclass
class SheetRead:
    rows: list[Any] = field(default_factory=list)
    issues: list[SheetIssue] = field(default_factory=list)
    present: set[int] = field(default_factory=set)      # ids the sheet lists, readable rows or not
    usable: bool = True


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _columns(header: list[str], known: tuple[str, ...], required: tuple[str, ...], read: SheetRead
             ) -> dict[str, int] | None:
    index = {_key(h): i for i, h in enumerate(header) if h.strip()}
    missing = [c for c in required if c not in index]
    if missing:
        read.issues.append(SheetIssue(1, f"header has no column {', '.join(missing)} "
                                         f"(found: {', '.join(h for h in header if h.strip()) or 'nothing'})"))
        read.usable = False
        return None
    unknown_optional = [c for c in known if c not in index and c not in required]
    if unknown_optional:
        read.issues.append(SheetIssue(1, f"optional column {', '.join(unknown_optional)} not found; left empty"))
    return {c: index[c] for c in known if c in index}


def _cell(values: list[str], cols: dict[str, int], name: str) -> str:
    i = cols.get(name)
    return str(values[i]).strip() if i is not None and i < len(values) else ""


def parse_id(raw: str) -> int | None:
    """A Telegram id as a sheet shows it: «-1001234567890», «123456789», «1.23457E+12» is refused (rounded)."""
    text = raw.replace(" ", "")
    return int(text) if re.fullmatch(r"-?\d{5,16}", text) else None


def parse_date(raw: str) -> date | None:
    text = raw.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_flag(raw: str) -> bool | None:
    text = raw.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _username(raw: str) -> str | None:
    name = raw.strip().lstrip("@")
    return name or None


def _id_row(values: list[str], cols: dict[str, int], id_column: str, row: int, read: SheetRead) -> int | None:
    raw = _cell(values, cols, id_column)
    if not raw:
        read.issues.append(SheetIssue(row, f"{id_column} is blank"))
        return None
    ident = parse_id(raw)
    if ident is None:
        read.issues.append(SheetIssue(row, f"{id_column} {raw!r} is not a Telegram id"))
        return None
    if ident in read.present:
        read.issues.append(SheetIssue(row, f"{id_column} {ident} repeats an earlier row; this row is ignored"))
        return None
    read.present.add(ident)
    return ident


RowBuilder = Callable[[list[str], dict[str, int], int, int, SheetRead], object | None]


def _read(values: list[list[str]], known: tuple[str, ...], required: tuple[str, ...], id_column: str,
          build: RowBuilder) -> SheetRead:
    read = SheetRead()
    if not values:
        read.issues.append(SheetIssue(1, "the sheet is empty (no header row)"))
        read.usable = False
        return read
    cols = _columns(values[0], known, required, read)
    if cols is None:
        return read
    for row, cells in enumerate(values[1:], start=2):
        if not any(str(c).strip() for c in cells):
            continue
        ident = _id_row(cells, cols, id_column, row, read)
        if ident is not None:
            built = build(cells, cols, row, ident, read)
            if built is not None:
                read.rows.append(built)
    return read


def _channel(cells: list[str], cols: dict[str, int], row: int, ident: int, read: SheetRead) -> ChannelRow | None:
    active = parse_flag(_cell(cells, cols, "active"))
    if active is None:
        read.issues.append(SheetIssue(row, f"active {_cell(cells, cols, 'active')!r} is not yes/no"))
        return None
    return ChannelRow(row, ident, _username(_cell(cells, cols, "username")), _cell(cells, cols, "title"), active)


def _subscriber(cells: list[str], cols: dict[str, int], row: int, ident: int, read: SheetRead
                ) -> SubscriberRow | None:
    raw_date = _cell(cells, cols, "expires_at")
    expires = parse_date(raw_date)
    if expires is None:
        read.issues.append(SheetIssue(row, f"expires_at {raw_date!r} is not a date (YYYY-MM-DD or DD.MM.YYYY)"))
        return None
    return SubscriberRow(row, ident, _username(_cell(cells, cols, "username")),
                         _cell(cells, cols, "plan") or "basic", expires)


def parse_channels(values: list[list[str]]) -> SheetRead:
    return _read(values, CHANNEL_COLUMNS, CHANNEL_REQUIRED, "channel_id", _channel)


def parse_subscribers(values: list[list[str]]) -> SheetRead:
    return _read(values, SUBSCRIBER_COLUMNS, SUBSCRIBER_REQUIRED, "telegram_id", _subscriber)
