"""The agent event consumer (docs/agents.md): reads `watcher:agent_events` through the consumer group
`adolfd`, applies each event in one PostgreSQL transaction that also records its event id, runs the event's
Redis effects, and only then acknowledges it.

- Killed before the commit: nothing was written; the entry stays pending and the next consumer claims it
  (XAUTOCLAIM after `reclaim_idle_ms`) and applies it.
- Killed after the commit: the event id is recorded with its effects; the redelivered entry finds the id,
  changes no row, replays the (idempotent) effects and is acknowledged.
- A malformed, unknown or refused event is logged with its reason and moved to `watcher:agent_events:dead`
  in the same Redis transaction as its acknowledgement; it changes nothing.
"""
from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from adolfd.domain.watcher.events import BadEvent, Panic, parse_event
from adolfd.keys import WATCHER_CLAIMED as CLAIMED
from adolfd.keys import WATCHER_CONSUMER_GROUP as CONSUMER_GROUP
from adolfd.keys import WATCHER_DEAD_LETTER as DEAD_LETTER
from adolfd.keys import WATCHER_EVENTS as EVENTS
from adolfd.keys import WATCHER_IP_BLOCKED as IP_BLOCKED
from adolfd.workers.watcher.apply import Effect, apply_event
from adolfd.workers.watcher.handback import claimed_ids
from adolfd.workers.watcher.queues import flush_requeues

log = structlog.get_logger("adolfd.watcher")
DEAD_LETTER_MAXLEN = 100_000

_RECORD = """
INSERT INTO watcher_applied_events (event_id, event_type, applied_at) VALUES ($1, $2, $3)
ON CONFLICT (event_id) DO NOTHING RETURNING event_id
"""


def consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class ConsumeReport:
    applied: int = 0
    duplicates: int = 0
    dead: int = 0
    reclaimed: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    stopped_early: bool = False       # the process began to stop before the window ended

    def as_result(self) -> dict[str, Any]:
        return {"status": "stopped_early" if self.stopped_early else "success", "applied": self.applied,
                "duplicates": self.duplicates, "dead_lettered": self.dead, "reclaimed": self.reclaimed,
                "by_type": self.by_type, "dead_reasons": self.reasons}


async def ensure_group(redis: Redis) -> None:
    try:
        await redis.xgroup_create(EVENTS, CONSUMER_GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def run_effects(db: asyncpg.Pool, redis: Redis, effects: list[Effect], now: datetime) -> None:
    """Redis side of an applied event; each op is idempotent (expiry at an absolute time by adolfd's clock,
    LREM, DEL, flagged pushes), so replaying it after a crash changes nothing."""
    flush = False
    for effect in effects:
        op = effect["op"]
        if op == "block_ip":
            left = int(effect["until"] - now.timestamp())
            if left > 0:
                await redis.set(IP_BLOCKED.format(ip=effect["ip"]), effect["reason"], ex=left)
        elif op == "lrem":
            await redis.lrem(effect["key"], 0, effect["value"])  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        elif op == "del":
            await redis.delete(effect["key"])
        elif op == "flush":
            flush = True
    if flush:
        await flush_requeues(db, redis)


class Consumer:
    """One consumer of the group; `now` is the clock the applied rows are stamped with."""

    def __init__(self, db: asyncpg.Pool, redis: Redis, now: Callable[[], datetime], *, name: str | None = None,
                 reclaim_idle_ms: int = 60_000) -> None:
        self.db = db
        self.redis = redis
        self.now = now
        self.name = name or consumer_name()
        self.reclaim_idle_ms = reclaim_idle_ms
        self.report = ConsumeReport()

    async def _park(self, msg_id: bytes, raw: bytes | None, error: BadEvent) -> None:
        log.warning("agent_event_refused", reason=error.reason, detail=error.detail, entry=msg_id.decode())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(DEAD_LETTER, {"event": raw or b"", "reason": error.reason, "detail": error.detail[:1000],
                                    "entry": msg_id, "at": self.now().isoformat()},
                      maxlen=DEAD_LETTER_MAXLEN, approximate=True)
            pipe.xack(EVENTS, CONSUMER_GROUP, msg_id)
            await pipe.execute()
        self.report.dead += 1
        self.report.reasons[error.reason] = self.report.reasons.get(error.reason, 0) + 1

    async def handle(self, msg_id: bytes, fields: dict[bytes, bytes]) -> None:
        raw = fields.get(b"event")
        try:
            if raw is None:
                raise BadEvent("missing_event", "the stream entry has no `event` field")
            event = parse_event(raw)
            claimed = (claimed_ids(await self.redis.lrange(CLAIMED.format(agent=event.agent), 0, -1))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
                       if isinstance(event, Panic) else [])
            now = self.now()
            async with self.db.acquire() as conn, conn.transaction():
                if await conn.fetchval(_RECORD, event.event_id, event.type, now) is None:
                    effects = await conn.fetchval("SELECT effects FROM watcher_applied_events WHERE event_id = $1",
                                                  event.event_id)
                    fresh = False
                else:
                    effects = await apply_event(conn, event, now, claimed)
                    await conn.execute("UPDATE watcher_applied_events SET effects = $2 WHERE event_id = $1",
                                       event.event_id, effects)
                    fresh = True
        except BadEvent as exc:
            await self._park(msg_id, raw, exc)
            return
        await run_effects(self.db, self.redis, effects, self.now())
        await self.redis.xack(EVENTS, CONSUMER_GROUP, msg_id)
        if fresh:
            self.report.applied += 1
            self.report.by_type[event.type] = self.report.by_type.get(event.type, 0) + 1
        else:
            self.report.duplicates += 1
            log.info("agent_event_duplicate", event_id=event.event_id, type=event.type, agent=event.agent)

    async def reclaim(self, count: int = 100) -> int:
        """Entries another consumer read but never acknowledged (it died): take them over and apply them."""
        start, taken = "0-0", 0
        while True:
            reply = await self.redis.xautoclaim(EVENTS, CONSUMER_GROUP, self.name, self.reclaim_idle_ms,
                                                start_id=start, count=count)
            start, entries = reply[0], reply[1]
            for msg_id, fields in entries:
                if fields is not None:
                    await self.handle(msg_id, fields)
                    taken += 1
            if start in (b"0-0", "0-0") or not entries:
                break
        self.report.reclaimed += taken
        return taken

    async def read_once(self, *, count: int = 100, block_ms: int | None = 1000) -> int:
        reply = await self.redis.xreadgroup(CONSUMER_GROUP, self.name, {EVENTS: ">"}, count=count, block=block_ms)
        handled = 0
        for _stream, entries in reply or []:
            for msg_id, fields in entries:
                await self.handle(msg_id, fields)
                handled += 1
        return handled

    async def run(self, seconds: float, *, count: int = 100, block_ms: int = 1000,
                  stopping: Callable[[], bool] = lambda: False) -> ConsumeReport:
        """Reclaim, then read until `seconds` have passed (a cron run of `consume_agent_events`), or until
        `stopping()` says the process is stopping: checked after each read, so a stop waits at most one
        `block_ms`, and what was not read stays in the stream for the next consumer."""
        await ensure_group(self.redis)
        await self.reclaim(count)
        deadline = time.monotonic() + seconds
        while True:
            if stopping():
                self.report.stopped_early = True
                break
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            await self.read_once(count=count, block_ms=max(1, min(block_ms, left_ms)))
        return self.report

    async def drain(self, *, count: int = 100) -> ConsumeReport:
        """Apply everything waiting now and return (tests, the bench, an operator's manual run)."""
        await ensure_group(self.redis)
        await self.reclaim(count)
        while await self.read_once(count=count, block_ms=None):
            pass
        return self.report
