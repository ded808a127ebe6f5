"""The bid-cycle kill switch (DOMAIN.md "Marketing"): set from the bot (/pause_bids) or the CLI, read by
`run_bid_cycle` before it takes its lock; while it is set the cycle skips with a logged reason.

PostgreSQL is its record (`marketing_bid_pause`, one row while paused), so neither a worker restart nor a Redis
restart without persistence can undo a pause. Redis keeps a copy (`adolfd:marketing:bids_paused`) that is read
only while PostgreSQL cannot be reached. It records who paused, when and why; pausing again keeps the first
record (the cycle is already off). Pausing refuses (raises) when PostgreSQL is down: a pause that could vanish
is not reported as done.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from redis.asyncio import Redis

from adolfd.keys import MARKETING_BIDS_PAUSED as BIDS_PAUSED

log = structlog.get_logger(__name__)
DB_DOWN = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _record(row: asyncpg.Record) -> dict[str, Any]:
    return {"by": row["paused_by"], "at": row["paused_at"].isoformat(), "reason": row["reason"]}


async def bids_paused(db: asyncpg.Pool | None, redis: Redis) -> dict[str, Any] | None:
    """Who paused the bid cycle, when and why; None while it runs. From PostgreSQL; from the Redis copy only
    while PostgreSQL cannot be reached (or no pool is given)."""
    if db is not None:
        try:
            row = await db.fetchrow("SELECT paused_by, paused_at, reason FROM marketing_bid_pause")
            return _record(row) if row is not None else None
        except DB_DOWN as exc:
            log.warning("kill_switch_read_from_cache", reason=str(exc))
    raw = await redis.get(BIDS_PAUSED)
    return json.loads(raw) if raw else None


async def pause_bids(db: asyncpg.Pool, redis: Redis, *, by: str, now: datetime,
                     reason: str = "") -> dict[str, Any]:
    """Stop every future bid cycle until resumed. Returns the pause in force and whether this call set it."""
    created = await db.fetchrow(
        "INSERT INTO marketing_bid_pause (paused_by, paused_at, reason) VALUES ($1, $2, $3) "
        "ON CONFLICT (singleton) DO NOTHING RETURNING paused_by, paused_at, reason", by, now, reason.strip())
    current = created or await db.fetchrow("SELECT paused_by, paused_at, reason FROM marketing_bid_pause")
    record = _record(current) if current is not None else {"by": by, "at": now.isoformat(), "reason": reason}
    await redis.set(BIDS_PAUSED, json.dumps(record, ensure_ascii=False))
    if created:
        log.warning("bids_paused", by=by, reason=record["reason"])
    return {**record, "paused": True, "already": created is None}


async def resume_bids(db: asyncpg.Pool, redis: Redis, *, by: str) -> dict[str, Any]:
    """Let the bid cycle run again from its next schedule. Returns the pause it lifted (None if there was none)."""
    row = await db.fetchrow("DELETE FROM marketing_bid_pause RETURNING paused_by, paused_at, reason")
    await redis.delete(BIDS_PAUSED)
    previous = _record(row) if row is not None else None
    if previous:
        log.warning("bids_resumed", by=by, paused_by=previous.get("by"), paused_at=previous.get("at"))
    return {"paused": False, "lifted": previous}


async def kill_switch_status(redis: Redis, db: asyncpg.Pool | None) -> dict[str, Any]:
    """`adolfd status` / `/status` section."""
    pause = await bids_paused(db, redis)
    if pause is None:
        return {"bid_cycle": "running"}
    return {"bid_cycle": "PAUSED", "by": pause.get("by"), "since": pause.get("at"), "reason": pause.get("reason")}
