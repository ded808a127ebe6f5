"""At most N requests in flight per key across every process and host: a Redis sorted set of holders.

Some APIs cap requests in progress, not requests per second (Yandex Market: 4 parallel requests per business,
420 beyond). A semaphore per process keeps one process under the cap; several processes need the count in
Redis. Each holder is a member whose score is its lease's end, so the slot of a process that died mid-request
frees itself when the lease (the request's timeout and a margin) runs out.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

# KEYS[1] = holders; ARGV = cap, holder id, lease ms. 1 = taken, 0 = full.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)
return 1
"""


class SharedInFlight:
    def __init__(self, redis: Redis, key: str, cap: int, lease_seconds: float, poll_seconds: float = 0.005) -> None:
        self._redis, self.key, self.cap = redis, key, cap
        self._lease_ms = int(lease_seconds * 1000)
        self._poll = poll_seconds
        self._take = redis.register_script(_TAKE)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """One of the `cap` slots for the duration of the block; waits (polling Redis) while all are taken."""
        holder = uuid.uuid4().hex
        while not await self._take(keys=[self.key], args=[self.cap, holder, self._lease_ms]):
            await asyncio.sleep(self._poll)
        try:
            yield
        finally:
            await self._redis.zrem(self.key, holder)
