"""The PostgreSQL pool and `adolfd migrate`."""
from __future__ import annotations

import json
from pathlib import Path

import asyncpg

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema.sql"
MIGRATE_LOCK = 0x4AD01F  # advisory lock: two processes starting together apply the schema one after another


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=lambda v: json.dumps(v, default=str), decoder=json.loads,
                                  schema="pg_catalog")


async def create_pool(dsn: str, size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=1, max_size=size, init=_init_connection,
                                     command_timeout=300)


def schema_sql() -> str:
    if SCHEMA_PATH.exists():
        return SCHEMA_PATH.read_text()
    from importlib.resources import files  # installed as a package without the source tree

    return (files("adolfd") / "schema.sql").read_text()


async def migrate(conn: asyncpg.Connection) -> None:
    """Apply schema.sql; every statement in it is idempotent, so this runs on every start."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
    try:
        await conn.execute(schema_sql())
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATE_LOCK)
