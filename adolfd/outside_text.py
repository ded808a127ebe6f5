"""Text that comes from outside (errors of external APIs, reviews, job arguments) made safe for where it goes.

PostgreSQL refuses a NUL in `text`/`jsonb` and UTF-8 cannot encode a lone surrogate: one such character would
make a whole write fail, again on every retry. A terminal obeys escape sequences: outside text printed by the CLI
could recolour, hide or rewrite what the operator sees. Both are cleaned here, character by character, and nothing
else of the text changes.
"""
from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
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
