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

A send is due one interval after the last one was due, or one interval after it left if it left late. Were that
the whole rule, a late send would carry its lateness into every send after it: ten bid requests each a few
milliseconds late, because the loop was deciding the next slice, lose tens of milliseconds in all. Where the
server's burst leaves room (`RateLimit.catch_up`), a send may leave up to that share of an interval before it is
due: the sends after a late one keep to their slots, and never run more than that share ahead of one an interval.
"""
from __future__ import annotations

import asyncio
import time

from adolfd.clients.ratelimit import RateLimiter
from adolfd.settings import RateLimit


class PacedLimiter:
    def __init__(self, shared: RateLimiter) -> None:
        self.shared = shared
        self._due: dict[str, float] = {}            # bucket → when its next send is due (monotonic)
        self._locks: dict[str, asyncio.Lock] = {}

    async def reserve(self, key: str, limit: RateLimit) -> float:
        return await self.shared.reserve(key, limit)

    async def acquire(self, key: str, limit: RateLimit) -> float:
        return await self.wait(key, limit) + await self.stamp(key, limit)

    async def wait(self, key: str, limit: RateLimit) -> float:
        """The shared limiter's slot; the send is not stamped yet (see `stamp`)."""
        return await self.shared.acquire(key, limit)

    async def stamp(self, key: str, limit: RateLimit) -> float:
        """Right before the send: wait until the bucket's next send is due (less `limit.catch_up` of an interval),
        from this process and from any other, and record this one as leaving now."""
        waited = 0.0
        interval = 1.0 / limit.rate
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            due = self._due.get(key, 0.0)
            ready = due - interval * limit.catch_up
            now = time.monotonic()
            if ready > now:
                await asyncio.sleep(ready - now)
                waited += ready - now
            waited += await self.shared.space(key, limit)
            self._due[key] = max(due, time.monotonic()) + interval
        return waited

    async def penalise(self, key: str, seconds: float, limit: RateLimit | None = None) -> None:
        await self.shared.penalise(key, seconds, limit)
