"""One rate limiter shared by every process and host: GCRA in a Redis Lua script.

Each call reserves the next free slot of its key and returns how long to wait for it, so concurrent callers
queue up in order with one Redis round trip each and nobody polls. Keys are `api:account:endpoint_class`.
"""
from __future__ import annotations

import asyncio
import random
import secrets
from typing import Protocol

from redis.asyncio import Redis

from adolfd.keys import RATELIMIT, RATELIMIT_DUE
from adolfd.settings import RateLimit

# KEYS[1] = bucket; ARGV = emission interval ms, burst tolerance ms. Returns the wait in ms.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now + tolerance) + 1000)
if allow_at > now then return allow_at - now end
return 0
"""


# KEYS[1] = bucket; ARGV[1] = ms from now before which no slot is handed out, ARGV[2] = burst tolerance ms.
# The bucket is left empty at that moment (TAT = until + tolerance): the callers waiting on the key get one slot
# each, an emission interval apart, instead of the whole burst retrying at once.
_PUSH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1]) + tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < until_ms then
  redis.call('SET', KEYS[1], until_ms, 'PX', math.ceil(until_ms - now) + 1000)
end
return 0
"""


# KEYS[1] = the bucket's next send: when it is due and which limiter sent the last; ARGV[1] = emission interval µs,
# ARGV[2] = how much sooner a send may leave after one of its own limiter (µs, RateLimit.catch_up), ARGV[3] = this
# limiter. 0: send now (the due time moves one interval on, from now if it has passed); otherwise the µs to wait
# before asking again. Nothing is booked ahead, so a caller that wakes late never leaves right behind one that
# woke on time; and a send right after another process's waits the whole interval, since that process's request
# may still be on its way.
_SPACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local last = redis.call('HMGET', KEYS[1], 'due', 'by')
local due = tonumber(last[1] or 0)
local early = 0
if last[2] == ARGV[3] then early = tonumber(ARGV[2]) end
if now < due - early then return due - early - now end
if due < now then due = now end
redis.call('HSET', KEYS[1], 'due', due + interval, 'by', ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(interval / 1000) * 2 + 1000)
return 0
"""


class Limiter(Protocol):
    """What an API client needs of a limiter: the shared `RateLimiter`, or `PacedLimiter` (its pacing on top)."""

    async def acquire(self, key: str, limit: RateLimit) -> float: ...

    async def wait(self, key: str, limit: RateLimit) -> float:
        """`acquire` in two steps, for a caller with something to take between them: the slot …"""
        ...

    async def stamp(self, key: str, limit: RateLimit) -> float:
        """… then, right before the send, what records it as leaving."""
        ...

    async def penalise(self, key: str, seconds: float, limit: RateLimit | None = None) -> None: ...


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str = RATELIMIT, due_prefix: str = RATELIMIT_DUE) -> None:
        self._redis = redis
        self._prefix = prefix
        self._due_prefix = due_prefix
        self._script = redis.register_script(_RESERVE)
        self._push = redis.register_script(_PUSH)
        self._space = redis.register_script(_SPACE)
        self._sender = secrets.token_hex(8)          # names this process's sends in the shared due time

    async def reserve(self, key: str, limit: RateLimit) -> float:
        """Reserve one request; returns seconds to wait before sending it."""
        interval_ms = 1000.0 / limit.rate
        tolerance_ms = interval_ms * max(limit.burst - 1, 0)
        wait_ms = await self._script(keys=[self._prefix + key], args=[interval_ms, tolerance_ms])
        return float(wait_ms) / 1000.0

    async def acquire(self, key: str, limit: RateLimit) -> float:
        """Wait for a slot; returns the seconds waited."""
        wait = await self.reserve(key, limit)
        if wait > 0:
            await asyncio.sleep(wait)
        return wait

    async def wait(self, key: str, limit: RateLimit) -> float:
        return await self.acquire(key, limit)

    async def stamp(self, key: str, limit: RateLimit) -> float:
        """Slots alone: nothing is recorded at the send (PacedLimiter spaces the sends)."""
        return 0.0

    async def space(self, key: str, limit: RateLimit) -> float:
        """Wait until the next send of `key` from any process is due, and record this one as leaving now; returns
        the seconds waited. A GCRA slot says when a request may go, but a process whose event loop was busy sends
        late, right before another process's request that is on time: this keeps those two an interval apart too
        (less `limit.catch_up` of one after a send of this process, which lets the sends after a late one keep to
        their slots)."""
        waited = 0.0
        interval_us = 1_000_000.0 / limit.rate
        args: list[float | str] = [interval_us, interval_us * limit.catch_up, self._sender]
        while (wait_us := await self._space(keys=[self._due_prefix + key], args=args)) > 0:
            await asyncio.sleep(float(wait_us) / 1_000_000.0)
            waited += float(wait_us) / 1_000_000.0
        return waited

    async def penalise(self, key: str, seconds: float, limit: RateLimit | None = None) -> None:
        """After a 429 the server's clock wins: nobody on this key sends before `seconds` (plus up to 10 %
        jitter, so hosts told the same Retry-After do not return in step) from now, and then the waiting
        callers go one per emission interval of `limit` (no burst), in the order they asked."""
        tolerance_ms = 0.0
        if limit is not None:
            tolerance_ms = 1000.0 / limit.rate * max(limit.burst - 1, 0)
        wait_ms = max(seconds, 0) * 1000.0 * random.uniform(1.0, 1.1)
        await self._push(keys=[self._prefix + key], args=[wait_ms, tolerance_ms])
