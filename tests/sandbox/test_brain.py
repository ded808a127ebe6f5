"""Seeding the brain_* tables on a real, throwaway PostgreSQL database."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from adolfd.sandbox import catalog
from adolfd.sandbox.brain import BRAIN_TABLES, run_extractor, seed_brain_tables
from adolfd.sandbox.core import MSK, Sandbox

PG_ADMIN = os.environ.get("ADOLFD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SCHEMA = Path(__file__).resolve().parents[2] / "schema.sql"
NOW = datetime(2026, 3, 10, 6, 0, tzinfo=MSK)


def brain_section() -> str:
    """The "1C extractor tables" section of schema.sql, up to the next section header."""
    text = SCHEMA.read_text(encoding="utf-8")
    start = text.index("-- == 1C extractor tables")
    end = text.index("\n-- == ", start + 1)
    return text[start:end]


@pytest.fixture
async def database_dsn() -> AsyncIterator[str]:
    name = f"adolfd_sandbox_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(brain_section())
            await conn.execute(brain_section())           # the section is idempotent
        finally:
            await conn.close()
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def conn(database_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_dsn)
    yield connection
    await connection.close()


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in BRAIN_TABLES}


async def test_seeding_writes_the_catalogue_extract(conn: asyncpg.Connection) -> None:
    written = await seed_brain_tables(conn, seed=42, now=NOW)
    assert written == await table_counts(conn)
    assert all(n > 0 for n in written.values())
    rows = await conn.fetch("SELECT brand_id, article, warehouse_name, quantity, extract_date, loaded_at "
                            "FROM brain_stock_balance ORDER BY brand_id, article, warehouse_name")
    expected = sorted((r.brand, r.article, r.warehouse_name, r.quantity)
                      for brand in ("ohana_market", "ohana_kids") for r in catalog.onec_stocks(42, brand, NOW.date()))
    assert [(r["brand_id"], r["article"], r["warehouse_name"], r["quantity"]) for r in rows] == expected
    assert {r["loaded_at"] for r in rows} == {NOW}
    assert {r["extract_date"] for r in rows} == {NOW.date()}
    negative = await conn.fetch("SELECT article FROM brain_stock_balance WHERE quantity < 0")
    assert len(negative) == 2, "one anomaly per brand"


async def test_seeding_twice_a_day_replaces_not_duplicates(conn: asyncpg.Connection) -> None:
    first = await seed_brain_tables(conn, seed=42, now=NOW)
    later = NOW + timedelta(hours=3)
    second = await seed_brain_tables(conn, seed=42, now=later)
    assert first == second == await table_counts(conn)
    assert await conn.fetchval("SELECT max(loaded_at) FROM brain_stock_balance") == later
    assert await conn.fetchval("SELECT count(DISTINCT loaded_at) FROM brain_goods_receipts") == 1


async def test_next_day_adds_a_new_extract(conn: asyncpg.Connection) -> None:
    first = await seed_brain_tables(conn, seed=42, now=NOW)
    await seed_brain_tables(conn, seed=42, now=NOW + timedelta(days=1))
    counts = await table_counts(conn)
    assert counts["brain_stock_balance"] == 2 * first["brain_stock_balance"]
    days = await conn.fetch("SELECT DISTINCT extract_date FROM brain_stock_balance ORDER BY 1")
    assert [r["extract_date"] for r in days] == [NOW.date(), NOW.date() + timedelta(days=1)]


async def test_subset_of_brands_and_tables(conn: asyncpg.Connection) -> None:
    await seed_brain_tables(conn, seed=42, now=NOW)
    stale_at = await conn.fetchval("SELECT max(loaded_at) FROM brain_supplier_orders")
    later = NOW + timedelta(hours=1)
    written = await seed_brain_tables(conn, seed=42, now=later, brands=["ohana_kids"], tables=["brain_stock_balance"])
    assert set(written) == {"brain_stock_balance"}
    per_brand = dict(await conn.fetch("SELECT brand_id, max(loaded_at) FROM brain_stock_balance GROUP BY brand_id"))
    assert per_brand == {"ohana_market": NOW, "ohana_kids": later}
    assert await conn.fetchval("SELECT max(loaded_at) FROM brain_supplier_orders") == stale_at


async def test_bad_arguments_change_nothing(conn: asyncpg.Connection) -> None:
    for kwargs in ({"now": NOW.replace(tzinfo=None)}, {"now": NOW, "brands": ["ohana_pets"]},
                   {"now": NOW, "tables": ["brain_everything"]}):
        with pytest.raises(ValueError):
            await seed_brain_tables(conn, seed=42, **kwargs)
    assert set((await table_counts(conn)).values()) == {0}


async def test_extractor_loads_at_start_and_after_six_next_day(database_dsn: str, conn: asyncpg.Connection) -> None:
    sandbox = Sandbox(seed=42)
    sandbox.set_now(datetime(2026, 3, 10, 3, 0, tzinfo=MSK), frozen=True)
    task = asyncio.create_task(run_extractor(sandbox, database_dsn, poll_seconds=0.05))
    try:
        await _wait_for(lambda: sandbox.counter("brain_extracts", "2026-03-10") == 1)
        sandbox.set_now(datetime(2026, 3, 11, 5, 59, tzinfo=MSK), frozen=True)
        await asyncio.sleep(0.3)
        assert sandbox.counter("brain_extracts", "2026-03-11") == 0, "not before 06:00"
        sandbox.advance(60)
        await _wait_for(lambda: sandbox.counter("brain_extracts", "2026-03-11") == 1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    days = await conn.fetch("SELECT extract_date, max(loaded_at) AS at FROM brain_stock_balance GROUP BY 1 ORDER BY 1")
    assert [(r["extract_date"].isoformat(), r["at"]) for r in days] == [
        ("2026-03-10", datetime(2026, 3, 10, 0, 0, tzinfo=UTC)),
        ("2026-03-11", datetime(2026, 3, 11, 3, 0, tzinfo=UTC)),
    ]


async def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
