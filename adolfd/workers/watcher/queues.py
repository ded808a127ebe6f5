"""The agents' task queues in Redis (docs/agents.md): pushing a night's tasks, handing tasks back, lengths.

Every push is idempotent, so a retried job or a redelivered event never puts an id in a queue twice:
the night's push remembers what it pushed in a per-date set (one Lua script: add to the set, push only if
new); a hand-back pushes an id only if it is not already in the queue. Tasks to hand back are flagged in
PostgreSQL (`watcher_tasks.requeue`) in the same transaction that frees them; `flush_requeues` pushes the
flagged ids under an advisory lock and clears the flags, so a crash between commit and push loses nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from redis.asyncio import Redis

from adolfd.domain.watcher.agents import HandedBack, head_pushes
from adolfd.domain.watcher.marketplaces import MARKETPLACES, agent_name
from adolfd.keys import WATCHER_GENERATION_PUSHED as GENERATION_PUSHED
from adolfd.keys import WATCHER_GENERATION_TTL as GENERATION_TTL
from adolfd.keys import WATCHER_TASK_PAYLOAD as TASK_PAYLOAD
from adolfd.keys import WATCHER_TASK_PAYLOAD_TTL as TASK_PAYLOAD_TTL
from adolfd.keys import WATCHER_TASK_QUEUE as TASK_QUEUE

REQUEUE_LOCK = 0x4AD001   # advisory lock: one flush at a time, so an id is never pushed by two flushers

# KEYS: pushed set, queue; ARGV: set ttl, ids... → how many were pushed now
_PUSH_ONCE = """
local n = 0
for i = 2, #ARGV do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[i]); n = n + 1 end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n
"""
# KEYS: queue; ARGV: 'head' | 'tail', ids... (for head: already reversed for LPUSH) → pushed count
_PUSH_ABSENT = """
local n = 0
for i = 2, #ARGV do
  if not redis.call('LPOS', KEYS[1], ARGV[i]) then
    if ARGV[1] == 'head' then redis.call('LPUSH', KEYS[1], ARGV[i]) else redis.call('RPUSH', KEYS[1], ARGV[i]) end
    n = n + 1
  end
end
return n
"""


def queue_key(marketplace: str) -> str:
    return TASK_QUEUE.format(marketplace=agent_name(marketplace))


async def write_payloads(redis: Redis, tasks: Iterable[dict[str, Any]]) -> None:
    """What an agent reads for a task id; written before the id becomes visible in a queue."""
    async with redis.pipeline(transaction=False) as pipe:
        for t in tasks:
            key = TASK_PAYLOAD.format(task_id=t["id"])
            pipe.hset(key, mapping={"task_id": str(t["id"]), "sku": t["sku"], "url": t["url"] or "",
                                    "marketplace": agent_name(t["marketplace"]),
                                    "target_type": t["target_type"], "scheduled_date": str(t["scheduled_date"])})
            pipe.expire(key, TASK_PAYLOAD_TTL)
        await pipe.execute()


async def push_night(redis: Redis, night: str, marketplace: str, ids: Sequence[int]) -> int:
    """Append the night's ids in order; ids pushed for this night before are skipped."""
    if not ids:
        return 0
    return int(await redis.eval(_PUSH_ONCE, 2, GENERATION_PUSHED.format(date=night), queue_key(marketplace),  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
                                str(GENERATION_TTL), *[str(i) for i in ids]))


async def push_absent(redis: Redis, marketplace: str, where: str, ids: Sequence[int]) -> int:
    if not ids:
        return 0
    return int(await redis.eval(_PUSH_ABSENT, 1, queue_key(marketplace), where, *[str(i) for i in ids]))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T


async def flush_requeues(db: asyncpg.Pool, redis: Redis) -> int:
    """Push every flagged task back (head: in original order; tail: retries), then clear the flags."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", REQUEUE_LOCK)
        rows = await conn.fetch("SELECT id, marketplace, seq, requeue FROM watcher_tasks "
                                "WHERE requeue IS NOT NULL AND status = 'pending' ORDER BY seq, id FOR UPDATE")
        if not rows:
            return 0
        await write_payloads(redis, await conn.fetch(
            "SELECT id, sku, url, marketplace, target_type, scheduled_date FROM watcher_tasks WHERE id = ANY($1)",
            [r["id"] for r in rows]))
        pushed = 0
        heads = head_pushes(HandedBack(r["id"], r["marketplace"], r["seq"]) for r in rows if r["requeue"] == "head")
        for market, ids in heads.items():
            pushed += await push_absent(redis, market, "head", ids)
        for market in MARKETPLACES:
            tails = [r["id"] for r in rows if r["requeue"] == "tail" and r["marketplace"] == market]
            pushed += await push_absent(redis, market, "tail", tails)
        await conn.execute("UPDATE watcher_tasks SET requeue = NULL WHERE id = ANY($1)", [r["id"] for r in rows])
        return pushed


async def queue_lengths(redis: Redis) -> dict[str, int]:
    async with redis.pipeline(transaction=False) as pipe:
        for market in MARKETPLACES:
            pipe.llen(queue_key(market))
        lengths = await pipe.execute()
    return {agent_name(m): int(n) for m, n in zip(MARKETPLACES, lengths, strict=True)}
