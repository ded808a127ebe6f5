"""Circuit breakers kept in Redis, so every worker on every host sees the same state (ARCHITECTURE.md "Rate
limits, breakers, locks"; seed 003 §7.3 `_poll_items`).

The transitions are the pure state machine of `adolfd.domain.circuit_breaker`; this module only reads the state
from a Redis hash, applies one transition and writes it back inside WATCH/MULTI, so two workers can never both
take the single half-open probe. `adolfd status`, the bot and the `adolfd_breaker_open` metric read it.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import WatchError

from adolfd.domain.circuit_breaker import (
    Admission,
    Breaker,
    BreakerPolicy,
    BreakerState,
    admit,
    current_state,
    record_failure,
    record_success,
)
from adolfd.keys import BREAKER as PREFIX
from adolfd.process import metrics

T = TypeVar("T")


class RedisBreakers:
    def __init__(self, redis: Redis, policy: BreakerPolicy = BreakerPolicy(), prefix: str = PREFIX) -> None:
        self.redis = redis
        self.policy = policy
        self.prefix = prefix

    async def read(self, name: str) -> Breaker:
        return Breaker.from_mapping(await self.redis.hgetall(self.prefix + name))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T

    async def admit(self, name: str, now: datetime) -> Admission:
        """May a call go through now? Claims the half-open probe atomically."""
        def step(b: Breaker) -> tuple[Breaker, Admission]:
            a = admit(b, now, self.policy)
            return a.breaker, a
        return await self._transition(name, step)

    async def success(self, name: str, now: datetime) -> Breaker:
        return await self._transition(name, lambda b: (record_success(b, now),) * 2)

    async def failure(self, name: str, now: datetime, error: str) -> Breaker:
        return await self._transition(name, lambda b: (record_failure(b, now, error, self.policy),) * 2)

    async def _transition(self, name: str, step: Callable[[Breaker], tuple[Breaker, T]]) -> T:
        key = self.prefix + name
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    current = Breaker.from_mapping(await pipe.hgetall(key))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
                    new, out = step(current)
                    if new == current:
                        await pipe.unwatch()
                    else:
                        pipe.multi()
                        pipe.delete(key)
                        pipe.hset(key, mapping=new.to_mapping())
                        await pipe.execute()
                    metrics.BREAKER_OPEN.labels(name).set(1 if new.state is BreakerState.OPEN else 0)
                    return out
                except WatchError:
                    continue

    async def snapshot(self, names: list[str], now: datetime | None = None) -> list[dict[str, Any]]:
        """What an operator sees: the effective state (open past its cool-down shows as half_open)."""
        now = now or datetime.now(UTC)
        out = []
        for name in names:
            b = await self.read(name)
            retry_at = b.retry_at(self.policy)
            out.append({
                "breaker": name,
                "state": current_state(b, now, self.policy).value,
                "failures": b.failures,
                "opened_at": b.opened_at.isoformat() if b.opened_at else None,
                "retry_at": retry_at.isoformat() if retry_at else None,
                "last_error": b.last_error or None,
            })
        return out
