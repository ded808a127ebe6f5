"""Pacing of one rate-limit bucket shared by several processes (each its own `PacedLimiter` over one Redis)."""
from __future__ import annotations

import asyncio
import time

from adolfd.clients.pacing import PacedLimiter
from adolfd.clients.ratelimit import RateLimiter
from adolfd.settings import RateLimit

LIMIT = RateLimit(rate=20, burst=1)          # one request every 50 ms
# a send is timed when its task resumes, which a loaded test host can delay by a few ms; the catch-up tests
# tell their cases apart by 20 ms or more
SLACK = 0.012


class LateWaker(RateLimiter):
    """A process whose event loop is busy: it wakes `late` seconds after each slot it was given."""

    def __init__(self, *args, late: float, **kw) -> None:
        super().__init__(*args, **kw)
        self.late = late

    async def acquire(self, key: str, limit: RateLimit) -> float:
        waited = await super().acquire(key, limit)
        await asyncio.sleep(self.late)
        return waited + self.late


class OnceLate(RateLimiter):
    """A process whose event loop was busy once: it wakes `late` seconds after its `nth` slot, on time otherwise."""

    def __init__(self, *args, late: float, nth: int, **kw) -> None:
        super().__init__(*args, **kw)
        self.late, self.nth, self.calls = late, nth, 0

    async def acquire(self, key: str, limit: RateLimit) -> float:
        waited = await super().acquire(key, limit)
        self.calls += 1
        if self.calls == self.nth:
            await asyncio.sleep(self.late)
        return waited


async def _sends(paced: PacedLimiter, key: str, n: int, sent: list[float], limit: RateLimit = LIMIT) -> None:
    async def one() -> None:
        await paced.acquire(key, limit)
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


async def test_a_send_that_left_late_does_not_delay_the_ones_after_it(res):
    """Five sends 200 ms apart, the second 90 ms late. With half an interval of catch-up the third leaves on its
    slot again and the five span four intervals; without it every send after the late one is 90 ms late too."""
    spans = {}
    for catch_up in (0.0, 0.5):
        limit = RateLimit(rate=5, burst=1, catch_up=catch_up)
        paced = PacedLimiter(OnceLate(res.redis, late=0.09, nth=2))
        sent: list[float] = []
        await _sends(paced, f"probe:acc:catch-up-{catch_up}", 5, sent, limit)
        sent.sort()
        spans[catch_up] = sent[-1] - sent[0]
        gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
        assert min(gaps) >= 0.2 * (1 - catch_up) - SLACK, (catch_up, [round(g * 1000) for g in gaps])
        for k, at in enumerate(sent):     # never more than the catch-up ahead of one send an interval
            assert at - sent[0] >= k * 0.2 - 0.2 * catch_up - SLACK, (catch_up, k, round((at - sent[0]) * 1000))
    assert spans[0.0] >= 0.8 + 0.085, spans
    assert spans[0.5] < 0.8 + 0.06, spans


async def test_catch_up_is_never_taken_right_after_another_process_s_send(res):
    """The catch-up only follows a send of the same process: a process late by 30 ms on every slot and an on-time
    one keep a whole interval between a send of one and the next of the other (that send may still be on its
    way), half an interval at least between two of the same process."""
    limit = RateLimit(rate=20, burst=1, catch_up=0.5)
    key = "probe:acc:catch-up-shared"
    sent: list[tuple[float, str]] = []

    async def sends(paced: PacedLimiter, who: str) -> None:
        async def one() -> None:
            await paced.acquire(key, limit)
            sent.append((time.monotonic(), who))
        await asyncio.gather(*(one() for _ in range(4)))

    await asyncio.gather(sends(PacedLimiter(LateWaker(res.redis, late=0.03)), "late"),
                         sends(PacedLimiter(RateLimiter(res.redis)), "on time"))
    sent.sort()
    assert len(sent) == 8
    for (a, who_a), (b, who_b) in zip(sent, sent[1:], strict=False):
        least = 0.05 if who_a != who_b else 0.025
        assert b - a >= least - SLACK, (who_a, who_b, round((b - a) * 1000, 1))
