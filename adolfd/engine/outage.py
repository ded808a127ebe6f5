"""Riding out a Redis restart.

A Redis upgrade, a failover or a plain restart breaks every pooled connection at once. The loops that must
outlive it (each queue's poll loop, the wake-up listener, the cron scheduler, the job finish that records a
result) catch the connection errors below, log the outage once, back off with jitter and carry on; redis-py
reconnects on the next command. Only errors that no reconnect can fix end a process (non-zero exit, so systemd
restarts it).
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from redis import exceptions as redis_errors

log = structlog.get_logger(__name__)
T = TypeVar("T")

# What a restarting, loading or unreachable Redis raises (BusyLoadingError is a ConnectionError: the server is
# replaying its append-only file); ReadOnlyError comes from a replica that was the master a moment ago.
REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ReadOnlyError,
    ConnectionError, OSError, TimeoutError,
)


class Backoff:
    """Exponential back-off with jitter for one component, logging the start and the end of an outage once."""

    def __init__(self, component: str, *, first: float = 0.05, cap: float = 5.0, **fields: Any) -> None:
        self.component = component
        self.first = first
        self.cap = cap
        self.fields = fields
        self.delay = first
        self.down_since: float | None = None

    @property
    def down(self) -> bool:
        return self.down_since is not None

    async def after_failure(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("redis_unavailable", component=self.component, error=f"{type(exc).__name__}: {exc}",
                        **self.fields)
        await asyncio.sleep(self.delay * random.uniform(0.5, 1.0))
        self.delay = min(self.delay * 2, self.cap)

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.info("redis_reconnected", component=self.component,
                     down_seconds=round(time.monotonic() - self.down_since, 3), **self.fields)
        self.down_since = None
        self.delay = self.first


async def until_done(operation: Callable[[], Awaitable[T]], backoff: Backoff) -> T:
    """Run `operation` until Redis answers it. Only for operations that are safe to repeat."""
    while True:
        try:
            result = await operation()
        except REDIS_DOWN as exc:
            await backoff.after_failure(exc)
            continue
        backoff.succeeded()
        return result
