"""Pacing of one rate-limit bucket shared by several processes (each its own `PacedLimiter` over one Redis)."""
from __future__ import annotations

import asyncio
import time

from adolfd.clients.pacing import PacedLimiter
from adolfd.clients.ratelimit import RateLimiter
from adolfd.settings import RateLimit

LIMIT = RateLimit(rate=20, burst=1)          # one request every 50 ms


class LateWaker(RateLimiter):
    """A process whose event loop is busy: it wakes `late` seconds after each slot it was given."""

    def __init__(self, *args, late: float, **kw) -> None:
        super().__init__(*args, **kw)
        self.late = late

    async def acquire(self, key: str, limit: RateLimit) -> float:
        waited = await super().acquire(key, limit)
        await asyncio.sleep(self.late)
        return waited + self.late


async def _sends(paced: PacedLimiter, key: str, n: int, sent: list[float]) -> None:
    async def one() -> None:
        await paced.acquire(key, LIMIT)
        sent.append(time.monotonic())
    await asyncio.gather(*(one() for _ in range(n)))


async def test_a_late_process_never_sends_right_before_an_on_time_one(res):
    """Slots alone let a late waker's request leave 20 ms before the next slot's; the shared spacing keeps every
    two sends of the bucket, whichever process they come from, an interval apart."""
    key = "probe:acc:bids"
    late = PacedLimiter(LateWaker(res.redis, late=0.03))
    on_time = PacedLimiter(RateLimiter(res.redis))
    sent: list[float] = []
    started = time.monotonic()
    await asyncio.gather(_sends(late, key, 4, sent), _sends(on_time, key, 4, sent))
    sent.sort()
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert len(sent) == 8
    assert min(gaps) >= 0.045, [round(g * 1000, 1) for g in gaps]
    assert sent[-1] - started < 8 * 0.05 + 0.35          # spacing, not serialisation behind the late one


async def test_buckets_of_different_endpoint_classes_do_not_wait_for_each_other(res):
    """Requests of two classes of one account go out side by side: each class has its own pace."""
    paced = PacedLimiter(RateLimiter(res.redis))
    started = time.monotonic()
    await asyncio.gather(_sends(paced, "ym:1:bids_info", 5, []), _sends(paced, "ym:1:bids", 5, []))
    assert time.monotonic() - started < 5 * 0.05 + 0.15   # one class's 5 slots, not both classes' 10
