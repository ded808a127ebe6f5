"""Cleaning text written by customers before adolfd stores or shows it (seed 003 §7.3 `_poll_items`).

A review is outside text: it can hold characters that PostgreSQL, JSON or a terminal refuse or misread. A NUL
(U+0000) is refused by PostgreSQL `text` and `jsonb`; a lone UTF-16 surrogate (U+D800..U+DFFF, which a JSON `\\ud800`
escape decodes to) cannot be encoded as UTF-8 at all; other C0/C1 control characters (ESC starts terminal
escape sequences) have no place in a review. They are dropped — a lone surrogate becomes U+FFFD, so the reader
sees something was there — and everything else the customer wrote is kept, so one poisoned review never stops
the page it came on.
"""
from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` without control characters (tab and line breaks stay); lone surrogates as U+FFFD."""
    return _UNSAFE.sub(lambda m: REPLACEMENT if m.group(0) >= "\ud800" else "", value)


def clean_json(value: Any, where: str = "") -> tuple[Any, list[str]]:
    """A JSON value with every string (keys too) cleaned, and the paths that changed (`text`, `answer.text`)."""
    changed: list[str] = []
    if isinstance(value, str):
        cleaned = clean_text(value)
        return cleaned, ([where or "<value>"] if cleaned != value else [])
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = clean_text(key) if isinstance(key, str) else key
            path = f"{where}.{name}" if where else str(name)
            if name != key:
                changed.append(path)
            out[name], inner = clean_json(item, path)
            changed.extend(inner)
        return out, changed
    if isinstance(value, list):
        items = []
        for i, item in enumerate(value):
            cleaned, inner = clean_json(item, f"{where}[{i}]")
            items.append(cleaned)
            changed.extend(inner)
        return items, changed
    return value, changed
