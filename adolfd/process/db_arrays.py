"""Array parameters sent as their text form, for statements that carry thousands of elements.

asyncpg encodes a list parameter element by element, with an abstract-base-class check on each (is it itself an
array?): about 0.5 µs an element in adolfd's process. The bid cycle's statements carry some 14 elements per unit,
10 000 units a cycle. As one text literal the same array costs a join in this process and a faster parse in
PostgreSQL (bench/bid_cycle.py, docs/performance.md). Such a parameter is declared `$n::text::bigint[]` (or
`::text::text[]`), so PostgreSQL parses the literal; a plain list would be refused by asyncpg as not a string.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import cast


def bigint_array(values: Iterable[int | None]) -> str:
    """`{1,2,NULL}` for a `$n::text::bigint[]` parameter."""
    text = ",".join(map(str, values))
    if "N" in text:                      # the digits of an int never hold an N: only a None does
        text = ",".join("NULL" if part == "None" else part for part in text.split(","))
    return "{" + text + "}"


def text_array(values: Iterable[str | None]) -> str:
    """`{"a","b \\"c\\"",NULL}` for a `$n::text::text[]` parameter: every element quoted, so commas, braces,
    quotes, backslashes and the word NULL inside one stay text."""
    items = list(values)
    if not items:
        return "{}"
    if None not in items:
        texts = cast(list[str], items)
        flat = "".join(texts)
        if '"' not in flat and "\\" not in flat:       # nothing to escape: one join, no loop per element
            return '{"' + '","'.join(texts) + '"}'
    return "{" + ",".join("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in items) + "}"
