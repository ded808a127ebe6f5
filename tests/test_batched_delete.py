"""Retention deletes in batches (adolfd.process.batched_delete) against a real PostgreSQL: every old row goes,
no newer one, each batch in a transaction of its own, and a stop keeps what was deleted."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from adolfd.process.batched_delete import delete_older

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
async def conn(database_url: str):
    conn = await asyncpg.connect(database_url)
    await conn.execute("CREATE TEMP TABLE kept (at timestamptz NOT NULL, kind text NOT NULL)")   # no key at all
    await conn.execute("INSERT INTO kept SELECT $1::timestamptz - g * interval '1 hour', "
                       "CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END FROM generate_series(1, 25) AS g", NOW)
    yield conn
    await conn.close()


async def test_every_row_before_the_cutoff_goes_in_batches_and_none_after(conn):
    cutoff = NOW - timedelta(hours=5, minutes=30)        # rows 6..25 are older: 20 rows
    statements = []
    conn.add_query_logger(lambda q: statements.append(q.query) if q.query.startswith("DELETE") else None)
    assert await delete_older(conn, "kept", "at", cutoff, batch=7) == 20
    await asyncio.sleep(0.05)                             # asyncpg calls its query loggers soon after, not at once
    assert len(statements) == 4                           # 7 + 7 + 6, then one that finds none
    assert await conn.fetchval("SELECT count(*) FROM kept") == 5
    assert await conn.fetchval("SELECT min(at) FROM kept") > cutoff
    assert await delete_older(conn, "kept", "at", cutoff, batch=7) == 0     # again: nothing left to do


async def test_a_condition_narrows_what_goes(conn):
    deleted = await delete_older(conn, "kept", "at", NOW, where="AND kind = $2", args=("odd",), batch=4)
    assert deleted == 13
    assert {r["kind"] for r in await conn.fetch("SELECT kind FROM kept")} == {"even"}


async def test_a_stop_keeps_the_batches_already_deleted(conn):
    asked = []

    def stopping() -> bool:
        asked.append(True)
        return len(asked) >= 2                            # stop once the second batch is in

    assert await delete_older(conn, "kept", "at", NOW, batch=5, stopping=stopping) == 10
    assert await conn.fetchval("SELECT count(*) FROM kept") == 15     # committed, not rolled back
    with pytest.raises(ValueError, match="batch"):
        await delete_older(conn, "kept", "at", NOW, batch=0)
