"""A simulated fleet of watcher parsing agents speaking the Redis protocol of docs/agents.md.

Prices are deterministic (a hash of the SKU), with scripted behaviour per SKU: `drop` (the competitor's price
falls 20 % on the second parse), `dumping` (the competitor sells 20 % below our base price), `out_of_stock`
(in stock on the first parse, then not). Each agent has switches for the faults adolfd must survive:
`silent` (takes a task, reports it started, then never speaks again), `panic` (PANIC with its IP on the next
task), `cookies_invalid`, `slow` (seconds per task), `malformed` (sends a broken event first), `duplicate`
(sends every event twice with the same id), `unknown_task` (reports a task that does not exist) and
`fail_until_third` (a task fails on its first two tries).

Tests drive agents step by step (`await agent.work_one()`); `run_fleet` runs them as loops for the demo.
"""
from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from adolfd.keys import WATCHER_CLAIMED as CLAIMED
from adolfd.keys import WATCHER_EVENTS as EVENTS
from adolfd.keys import WATCHER_TASK_PAYLOAD as TASK_PAYLOAD
from adolfd.keys import WATCHER_TASK_QUEUE as TASK_QUEUE

MARKETS = ("wildberries", "ozon", "yandex_market")


def base_price(sku: str) -> Decimal:
    """A stable price between 500 and 5000 ₽ for a SKU."""
    digest = int(hashlib.sha256(sku.encode()).hexdigest()[:8], 16)
    return Decimal(500 + digest % 4500)


@dataclass
class PriceScript:
    """Scripted competitor behaviour by competitor SKU; `ours` maps a competitor SKU to our base price."""

    drop: set[str] = field(default_factory=set)
    dumping: dict[str, Decimal] = field(default_factory=dict)     # competitor sku -> our price
    out_of_stock: set[str] = field(default_factory=set)
    parses: dict[str, int] = field(default_factory=dict)

    def quote(self, sku: str) -> dict[str, Any]:
        n = self.parses[sku] = self.parses.get(sku, 0) + 1
        price = base_price(sku)
        if sku in self.dumping:
            price = (self.dumping[sku] * Decimal("0.80")).quantize(Decimal("0.01"))
        if sku in self.drop and n >= 2:
            price = (price * Decimal("0.80")).quantize(Decimal("0.01"))
        if sku in self.out_of_stock and n >= 2:
            return {"in_stock": False}
        return {"in_stock": True, "price": float(price), "old_price": float(price * Decimal("1.25")),
                "discount_percent": 20}


@dataclass
class Switches:
    silent: bool = False
    panic: bool = False
    cookies_invalid: bool = False
    slow: float = 0.0
    malformed: bool = False
    duplicate: bool = False
    unknown_task: bool = False
    fail_until_third: bool = False


class SimAgent:
    def __init__(self, redis: Redis, name: str, market: str, script: PriceScript, *, ip: str = "198.51.100.1",
                 now: Callable[[], datetime] | None = None) -> None:
        self.redis = redis
        self.name = name
        self.market = market
        self.script = script
        self.ip = ip
        self.now = now or (lambda: datetime.now(UTC))
        self.switches = Switches()
        self.dead = False
        self._ids = itertools.count(1)
        self._tries: dict[int, int] = {}

    async def send(self, kind: str, **fields: Any) -> str:
        event_id = f"{self.name}:{next(self._ids):06d}"
        body = json.dumps({"type": kind, "event_id": event_id, "agent": self.name, "ts": self.now().isoformat(),
                           **fields})
        for _ in range(2 if self.switches.duplicate else 1):
            await self.redis.xadd(EVENTS, {"event": body})
        return event_id

    async def heartbeat(self) -> None:
        if not self.dead:
            await self.send("heartbeat", marketplace=self.market, ip=self.ip)

    async def work_one(self) -> int | None:
        """Take one task and report it, as the switches say; returns the task id (None: queue empty or dead)."""
        if self.dead:
            return None
        s = self.switches
        if s.malformed:
            s.malformed = False
            await self.redis.xadd(EVENTS, {"event": b'{"type": "price_result", "event_id": '})
        if s.unknown_task:
            s.unknown_task = False
            await self.send("task_started", task_id=987654321)
        if s.cookies_invalid:
            s.cookies_invalid = False
            await self.send("cookies_invalid", reason="session expired")
        raw = await self.redis.lmove(TASK_QUEUE.format(marketplace=self.market), CLAIMED.format(agent=self.name),
                                     "LEFT", "RIGHT")
        if raw is None:
            return None
        task_id = int(raw)
        payload = await self.redis.hgetall(TASK_PAYLOAD.format(task_id=task_id))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        if s.panic:
            self.dead = True
            await self.send("panic", reason="captcha", ip=self.ip, message="captcha on every page")
            return task_id
        await self.send("task_started", task_id=task_id)
        if s.silent:
            self.dead = True            # gone mid-task: no result, no heartbeat ever again
            return task_id
        if s.slow:
            await asyncio.sleep(s.slow)
        tries = self._tries[task_id] = self._tries.get(task_id, 0) + 1
        if s.fail_until_third and tries < 3:
            await self.send("task_failed", task_id=task_id, error=f"timeout loading page (try {tries})")
            return task_id
        await self.send("price_result", task_id=task_id, **self.script.quote(payload[b"sku"].decode()))
        return task_id


class Fleet:
    """N agents per marketplace, named `{market}-{i}`."""

    def __init__(self, redis: Redis, per_market: int = 2, script: PriceScript | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.script = script or PriceScript()
        self.agents = [SimAgent(redis, f"{m}-{i}", m, self.script, ip=f"198.51.100.{10 * k + i}", now=now)
                       for k, m in enumerate(MARKETS, 1) for i in range(1, per_market + 1)]

    def agent(self, name: str) -> SimAgent:
        return next(a for a in self.agents if a.name == name)

    async def heartbeat(self) -> None:
        for agent in self.agents:
            await agent.heartbeat()

    async def work_all(self) -> int:
        """Round-robin until every live agent finds its queue empty; returns tasks taken."""
        taken = 0
        while True:
            round_taken = 0
            for agent in self.agents:
                if await agent.work_one() is not None:
                    round_taken += 1
            taken += round_taken
            if not round_taken:
                return taken


async def run_fleet(redis: Redis, per_market: int = 2, *, heartbeat_every: float = 30.0,
                    idle_wait: float = 1.0) -> None:
    """The demo's fleet: heartbeats and work until cancelled."""
    fleet = Fleet(redis, per_market)
    last_beat = 0.0
    loop = asyncio.get_running_loop()
    while True:
        if loop.time() - last_beat >= heartbeat_every:
            await fleet.heartbeat()
            last_beat = loop.time()
        if not await fleet.work_all():
            await asyncio.sleep(idle_wait)
