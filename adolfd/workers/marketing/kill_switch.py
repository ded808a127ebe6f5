"""The bid-cycle kill switch (DOMAIN.md "Marketing"): one Redis flag, set from the bot (/pause_bids) or the CLI,
read by `run_bid_cycle` before it takes its lock; while it is set the cycle skips with a logged reason.

A flag in Redis, not a setting, so pausing needs no restart, holds for every host at once, and survives worker
restarts. It records who paused, when and why; pausing again keeps the first record (the cycle is already off).
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


async def bids_paused(redis: Redis) -> dict[str, Any] | None:
    """Who paused the bid cycle, when and why; None while it runs."""
    raw = await redis.get(BIDS_PAUSED)
    return json.loads(raw) if raw else None


async def pause_bids(redis: Redis, *, by: str, now: datetime, reason: str = "") -> dict[str, Any]:
    """Stop every future bid cycle until resumed. Returns the pause in force and whether this call set it."""
    record = {"by": by, "at": now.isoformat(), "reason": reason.strip()}
    created = await redis.set(BIDS_PAUSED, json.dumps(record, ensure_ascii=False), nx=True)
    if created:
        log.warning("bids_paused", by=by, reason=record["reason"])
        return {**record, "paused": True, "already": False}
    current = await bids_paused(redis) or record
    return {**current, "paused": True, "already": True}


async def resume_bids(redis: Redis, *, by: str) -> dict[str, Any]:
    """Let the bid cycle run again from its next schedule. Returns the pause it lifted (None if there was none)."""
    previous = await bids_paused(redis)
    await redis.delete(BIDS_PAUSED)
    if previous:
        log.warning("bids_resumed", by=by, paused_by=previous.get("by"), paused_at=previous.get("at"))
    return {"paused": False, "lifted": previous}


async def kill_switch_status(redis: Redis, db: asyncpg.Pool | None) -> dict[str, Any]:
    """`adolfd status` / `/status` section."""
    pause = await bids_paused(redis)
    if pause is None:
        return {"bid_cycle": "running"}
    return {"bid_cycle": "PAUSED", "by": pause.get("by"), "since": pause.get("at"), "reason": pause.get("reason")}


