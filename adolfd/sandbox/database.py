"""Which database the sandbox may write: one marked as a sandbox database, never the configured production one.

The sandbox stands in for the 1C extractor and writes fake `brain_*` extracts, replacing a day's rows. Run by
mistake against the real database it would overwrite real 1C rows. So it writes only to a database that
carries the marker table, and it creates the marker only in a database that holds no rows at all (a database
made for it); any other database is refused before anything is written.
"""
from __future__ import annotations

import asyncpg

from adolfd.errors import AdolfdError

MARKER_TABLE = "adolfd_sandbox_marker"
_LOCK = 7_355_810_001   # advisory lock: two sandboxes starting at once mark the database once

_MARK = f"""
CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (
    marked_at timestamptz NOT NULL DEFAULT now(),
    note      text        NOT NULL
);
INSERT INTO {MARKER_TABLE} (note)
SELECT 'written by adolfd sandbox: fake marketplace and 1C data only'
WHERE NOT EXISTS (SELECT 1 FROM {MARKER_TABLE});
"""


class NotASandboxDatabase(AdolfdError):
    """The database holds data and is not marked as a sandbox one: the sandbox refuses to write to it."""


async def is_sandbox_database(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"public.{MARKER_TABLE}"))


async def tables_with_rows(conn: asyncpg.Connection) -> list[str]:
    """Tables of the public schema that hold at least one row (`LIMIT 1`: cheap on any size)."""
    names = [r["tablename"] for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    return [name for name in names
            if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM public."{name}" LIMIT 1)')]


async def claim_sandbox_database(conn: asyncpg.Connection) -> None:
    """Return when the sandbox may write here (marked, or empty and now marked); raise NotASandboxDatabase
    otherwise, having written nothing."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        if await is_sandbox_database(conn):
            return
        holding = await tables_with_rows(conn)
        if holding:
            database = await conn.fetchval("SELECT current_database()")
            shown = ", ".join(holding[:5]) + (f" and {len(holding) - 5} more" if len(holding) > 5 else "")
            raise NotASandboxDatabase(
                f"database {database!r} holds data ({shown}) and is not marked as a sandbox database: the sandbox "
                f"would overwrite its 1C extract. Point ADOLFD_DATABASE_URL at an empty database made for the "
                f"sandbox (it is marked on first use)")
        await conn.execute(_MARK)


async def claim_database_url(database_url: str) -> None:
    """`claim_sandbox_database` on its own connection, before anything else is started."""
    conn = await asyncpg.connect(database_url)
    try:
        await claim_sandbox_database(conn)
    finally:
        await conn.close()
