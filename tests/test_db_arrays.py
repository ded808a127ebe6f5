"""Array parameters as text literals (adolfd.process.db_arrays) read back by PostgreSQL element for element."""
from __future__ import annotations

import asyncpg
import pytest
from adolfd.process.db_arrays import bigint_array, text_array

AWKWARD = ["plain", "a,b", "{braces}", 'say "hi"', "back\\slash", "NULL", "", " spaced ", "кириллица", None,
           "tab\there", "new\nline"]


async def test_text_elements_come_back_as_sent_whatever_they_hold(database_url: str):
    conn = await asyncpg.connect(database_url)
    try:
        back = await conn.fetchval("SELECT $1::text::text[]", text_array(AWKWARD))
        ordered = await conn.fetch("SELECT n, v FROM unnest($1::text::text[]) WITH ORDINALITY AS u(v, n) ORDER BY n",
                                   text_array(AWKWARD))
    finally:
        await conn.close()
    assert back == AWKWARD
    assert [r["v"] for r in ordered] == AWKWARD


async def test_bigints_and_nulls_come_back_as_sent(database_url: str):
    values = [0, 1, -7, 9_223_372_036_854_775_807, None, 42, None]
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT $1::text::bigint[]", bigint_array(values)) == values
        assert await conn.fetchval("SELECT $1::text::bigint[]", bigint_array([])) == []
        assert await conn.fetchval("SELECT $1::text::text[]", text_array([])) == []
    finally:
        await conn.close()


async def test_a_value_that_is_no_integer_is_refused_by_the_database_not_stored(database_url: str):
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.InvalidTextRepresentationError):
            await conn.fetchval("SELECT $1::text::bigint[]", bigint_array([1, 2.5]))  # type: ignore[list-item]
    finally:
        await conn.close()
