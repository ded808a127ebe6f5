"""Sends of one rate-limit bucket leave this process at least one interval apart.

The shared GCRA limiter (`adolfd.clients.ratelimit`) hands every request a slot; the request sleeps until it.
When the event loop is busy for a moment (a large reply being parsed, a large statement being encoded),
several requests whose slots passed during that moment wake together and leave back to back. A marketplace's
token bucket then sees two requests a few milliseconds apart, and the small reserve that covers network
jitter is gone; over a long saturated phase (hundreds of bid requests) such moments add up to a 429.
`PacedLimiter` keeps the shared limiter's slots and adds one rule after the wait: a request of a bucket leaves
no sooner than one interval after the previous one. In this process a lock per bucket orders the callers; across
processes and hosts the shared limiter's `space` check does the same in Redis (a worker that woke late would
otherwise send right before another worker's request that is on time: the 429 that several processes drew with
slots alone). The advertising clients (bid cycle) use it.
"""
from __future__ import annotations

import asyncio
import time

from adolfd.clients.ratelimit import RateLimiter
from adolfd.settings import RateLimit


class PacedLimiter:
    def __init__(self, shared: RateLimiter) -> None:
        self.shared = shared
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def reserve(self, key: str, limit: RateLimit) -> float:
        return await self.shared.reserve(key, limit)

    async def acquire(self, key: str, limit: RateLimit) -> float:
        return await self.wait(key, limit) + await self.stamp(key, limit)

    async def wait(self, key: str, limit: RateLimit) -> float:
        """The shared limiter's slot; the send is not stamped yet (see `stamp`)."""
        return await self.shared.acquire(key, limit)

    async def stamp(self, key: str, limit: RateLimit) -> float:
        """Right before the send: wait until one interval has passed since the bucket's last send, from this
        process and from any other, and record this one as leaving now."""
        waited = 0.0
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            ready = self._last.get(key, 0.0) + 1.0 / limit.rate
            now = time.monotonic()
            if ready > now:
                await asyncio.sleep(ready - now)
                waited += ready - now
            waited += await self.shared.space(key, limit)
            self._last[key] = time.monotonic()
        return waited

    async def penalise(self, key: str, seconds: float, limit: RateLimit | None = None) -> None:
        await self.shared.penalise(key, seconds, limit)
