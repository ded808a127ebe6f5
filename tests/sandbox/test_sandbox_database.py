"""`adolfd sandbox` and `adolfd demo` write fake 1C extracts: only into a database marked as a sandbox one (marked
on first use of an empty database), never into one that holds data, such as the configured production one."""
from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest
from adolfd.sandbox.database import MARKER_TABLE, NotASandboxDatabase, claim_sandbox_database
from adolfd.testing import free_port


def adolfd_process(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ADOLFD_")},
           "ADOLFD_DATABASE_URL": database_url, "ADOLFD_METRICS_PORT": "0"}
    return subprocess.run([sys.executable, "-m", "adolfd", *args], env=env, capture_output=True, text=True,
                          timeout=60)


async def production_like(url: str) -> None:
    """A database holding real 1C rows (as the extractor writes them), and no sandbox marker."""
    from adolfd.process.db import migrate

    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await conn.execute("INSERT INTO brain_stock_balance (extract_date, brand_id, article, warehouse_name, "
                           "quantity) VALUES (current_date, 'ohana_market', 'REAL-1', 'Main', 7)")
    finally:
        await conn.close()


async def rows_of(url: str) -> list[tuple]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch("SELECT article, quantity FROM brain_stock_balance")]
    finally:
        await conn.close()


async def test_an_empty_database_is_marked_once(empty_database):
    conn = await asyncpg.connect(empty_database)
    try:
        await claim_sandbox_database(conn)
        assert await conn.fetchval(f"SELECT count(*) FROM {MARKER_TABLE}") == 1
        await claim_sandbox_database(conn)                       # marked: allowed again, marked once
        assert await conn.fetchval(f"SELECT count(*) FROM {MARKER_TABLE}") == 1
    finally:
        await conn.close()


async def test_a_database_holding_data_is_refused_and_left_as_it_was(empty_database):
    await production_like(empty_database)
    conn = await asyncpg.connect(empty_database)
    try:
        with pytest.raises(NotASandboxDatabase, match="holds data \\(brain_stock_balance\\)"):
            await claim_sandbox_database(conn)
        assert await conn.fetchval("SELECT to_regclass($1)", MARKER_TABLE) is None
    finally:
        await conn.close()


@pytest.mark.slow
async def test_adolfd_sandbox_and_demo_refuse_a_database_holding_real_rows(empty_database):
    await production_like(empty_database)
    sandbox = adolfd_process(empty_database, "sandbox", "--port", str(free_port()))
    assert sandbox.returncode == 2, sandbox.stderr
    assert "is not marked as a sandbox database" in sandbox.stderr and "--no-seed-db" in sandbox.stderr
    demo = adolfd_process(empty_database, "demo", "--port", str(free_port()))
    assert demo.returncode == 2 and "is not marked as a sandbox database" in demo.stderr, demo.stderr
    assert await rows_of(empty_database) == [("REAL-1", 7)]          # the real 1C rows are untouched
