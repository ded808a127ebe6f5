"""The PostgreSQL pool and `adolfd migrate`."""
from __future__ import annotations

import json
from pathlib import Path

import asyncpg

# An installed wheel carries a copy in the package (adolfd/_build.py); a checkout has the root file.
_PACKAGE = Path(__file__).resolve().parents[1]
SCHEMA_PATHS = (_PACKAGE / "schema.sql", _PACKAGE.parent / "schema.sql")
MIGRATE_LOCK = 0x4AD01F  # advisory lock: two processes starting together apply the schema one after another


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=lambda v: json.dumps(v, default=str), decoder=json.loads,
                                  schema="pg_catalog")


async def create_pool(dsn: str, size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=1, max_size=size, init=_init_connection,
                                     command_timeout=300)


def schema_sql() -> str:
    for path in SCHEMA_PATHS:
        if path.is_file():
            return path.read_text()
    raise FileNotFoundError(f"schema.sql is in neither {' nor '.join(map(str, SCHEMA_PATHS))}; reinstall adolfd")


async def migrate(conn: asyncpg.Connection) -> None:
    """Apply schema.sql; every statement in it is idempotent, so this runs on every start."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
    try:
        await conn.execute(schema_sql())
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATE_LOCK)
