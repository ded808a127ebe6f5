"""Text that comes from outside (errors of external APIs, reviews, job arguments) made safe for where it goes.

PostgreSQL refuses a NUL in `text`/`jsonb` and UTF-8 cannot encode a lone surrogate: one such character would
make a whole write fail, again on every retry. A terminal obeys escape sequences: outside text printed by the CLI
could recolour, hide or rewrite what the operator sees. A review written by a customer has no place for any
control character at all (seed 003 §7.3 `_poll_items`): one poisoned review must not stop the page it came on.
Each is cleaned here, character by character; a lone surrogate becomes U+FFFD, so the reader sees something was
there, and nothing else of the text changes.
"""
from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_OR_SURROGATE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|[\ud800-\udfff]")
# ESC-introduced sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, two-byte `ESC x`), the 8-bit CSI/OSC forms,
# then any other C0/C1 control character except tab and newline.
_TERMINAL_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"
    r"|\x1b[@-_]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def storable(text: str) -> str:
    """`text` as PostgreSQL stores it: NULs dropped, lone surrogates replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT, text.replace("\x00", ""))


def storable_json(value: Any) -> Any:
    """`storable` applied to every string (keys included) of a JSON-able value, for a `jsonb` column."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable_json(v) for v in value]
    return value


def printable(text: str) -> str:
    """`text` safe to print on a terminal: escape sequences and control characters removed (tab, newline kept)."""
    return _SURROGATE.sub(REPLACEMENT, _TERMINAL_CONTROL.sub("", text))


def clean_text(value: str) -> str:
    """`value` without control characters (tab and line breaks stay); lone surrogates as U+FFFD."""
    return _CONTROL_OR_SURROGATE.sub(lambda m: REPLACEMENT if m.group(0) >= "\ud800" else "", value)


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
